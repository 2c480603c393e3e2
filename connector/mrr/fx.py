"""Conversion to a reporting currency, only with rates the user gives.

Rates file (CSV): ``currency,rate`` and optionally ``month`` (YYYY-MM, the rate
holds from that month until the next row for the currency). ``rate`` is how
many major units of the reporting currency one major unit of ``currency`` is
worth, as an exact decimal. A converted amount is rounded once, half to even,
to the reporting currency's minor unit.

An exchange-rate change is its own movement (``fx``), never expansion or
contraction: a customer's converted change from month t−1 to t splits into the
movement at last month's rate, ``conv(M_t, r_{t−1}) − conv(M_{t−1}, r_{t−1})``,
and ``fx = conv(M_t, r_t) − conv(M_t, r_{t−1})``; the two add up exactly.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .currencies import is_iso_currency
from .model import currency_exponent, round_half_even
from .movements import FX, MOVEMENT_KINDS


class Rates:
    """Rates into one reporting currency, optionally varying by month."""

    def __init__(self, reporting_currency: str, table: Mapping[str, list[tuple[str, Fraction]]]):
        self.reporting_currency = reporting_currency.lower()
        self._table = {c.lower(): sorted(v) for c, v in table.items()}

    def rate(self, currency: str, month: str = "9999-12") -> Fraction:
        currency = currency.lower()
        if currency == self.reporting_currency:
            return Fraction(1)
        entries = self._table.get(currency)
        if not entries:
            raise ConfigError(f"no rate for {currency.upper()} in the rates file; add a row `{currency.upper()},<rate>`")
        index = bisect_right([m for m, _ in entries], month)
        if index == 0:
            raise ConfigError(f"no rate for {currency.upper()} in or before {month}; add a row for that month")
        return entries[index - 1][1]

    def convert(self, amount_minor: int, currency: str, month: str = "9999-12") -> int:
        shift = currency_exponent(self.reporting_currency) - currency_exponent(currency)
        return round_half_even(Fraction(amount_minor) * self.rate(currency, month) * Fraction(10) ** shift)


def load_rates(path: str | Path, reporting_currency: str) -> Rates:
    """Read a rates file; ConfigError naming the line for any bad row."""
    if not is_iso_currency(reporting_currency):
        raise ConfigError(f"unknown reporting currency {reporting_currency!r}; use an ISO 4217 code such as USD")
    table: dict[str, list[tuple[str, Fraction]]] = defaultdict(list)
    problems = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not {"currency", "rate"} <= set(reader.fieldnames or []):
                raise ConfigError(f"{path}: expected columns currency,rate[,month]")
            for row in reader:
                line = reader.line_num
                currency = (row.get("currency") or "").strip()
                month = (row.get("month") or "").strip() or "0000-00"
                try:
                    rate = Decimal((row.get("rate") or "").strip())
                    if not rate.is_finite() or rate <= 0:
                        raise InvalidOperation
                except InvalidOperation:
                    problems.append(f"line {line}: rate {row.get('rate')!r} is not a positive number")
                    continue
                if not is_iso_currency(currency):
                    problems.append(f"line {line}: unknown currency {currency!r}")
                    continue
                if month != "0000-00" and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()):
                    problems.append(f"line {line}: month {month!r} is not YYYY-MM")
                    continue
                table[currency.lower()].append((month, Fraction(rate)))
    except OSError as exc:
        raise ConfigError(f"cannot read rates file {path}: {exc.strerror}") from None
    if problems:
        raise ConfigError(f"{path}: bad rates, nothing converted:\n" + "\n".join(problems))
    return Rates(reporting_currency, table)


def convert_customer_months(rows: Iterable[Mapping[str, Any]], rates: Rates) -> list[dict[str, Any]]:
    """Monthly history in the reporting currency with an ``fx`` movement.

    ``rows`` are customer-months (customer_id, currency, month, mrr_minor,
    movement) in month order per customer. Returns one row per month with MRR,
    each movement and fx, all in the reporting currency's minor units.
    """
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    previous: dict[tuple[str, str], tuple[str, int]] = {}
    for row in sorted(rows, key=lambda r: (r["customer_id"], r["currency"], r["month"])):
        key = (row["customer_id"], row["currency"])
        month, mrr = row["month"], row["mrr_minor"]
        prior = previous.get(key)
        # a customer back after months at zero starts from zero at the rate of the month before
        prior_month, prior_mrr = prior if prior else (_month_before(month), 0)
        if prior_month != _month_before(month):
            prior_month, prior_mrr = _month_before(month), 0
        old_rate_before = rates.convert(prior_mrr, row["currency"], prior_month)
        old_rate_now = rates.convert(mrr, row["currency"], prior_month)
        converted_now = rates.convert(mrr, row["currency"], month)
        bucket = totals[month]
        bucket["mrr_minor"] += converted_now
        if row["movement"]:
            bucket[f"{row['movement']}_minor"] += old_rate_now - old_rate_before
        bucket[f"{FX}_minor"] += converted_now - old_rate_now
        bucket["customers"] += 1 if mrr > 0 else 0
        previous[key] = (month, mrr)
    result = []
    for month in sorted(totals):
        bucket = totals[month]
        movements = {f"{k}_minor": bucket.get(f"{k}_minor", 0) for k in (*MOVEMENT_KINDS, FX)}
        result.append({
            "period": month, "currency": rates.reporting_currency, "mrr_minor": bucket["mrr_minor"],
            "customers": bucket["customers"], **movements, "net_new_mrr_minor": sum(movements.values()),
        })
    return result


def _month_before(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"
