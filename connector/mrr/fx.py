"""Conversion to a reporting currency, only with rates the user gives.

Rates file (CSV): ``currency,rate`` and optionally ``month`` (YYYY-MM, the rate
holds from that month's first day) and/or ``date`` (YYYY-MM-DD, from that day),
until the next row for the currency. ``rate`` is how many major units of the
reporting currency one major unit of ``currency`` is worth, as an exact decimal.
Each customer-currency amount is converted and rounded once, half to even, to
the reporting currency's minor unit, at the rate of the day the amount is the
MRR of: ``mrr current --date D``, the day D of ``mrr history --grain day`` and,
when D ends a month (or is the as-of day), that month of ``mrr history`` agree
to the minor unit.

In the reporting currency a customer is one customer, whatever currencies they
pay in: counted once, and classified on their converted total, so a switch from
EUR to USD on one day is an expansion or contraction, not a churn and a new.

An exchange-rate change is its own movement (``fx``), never expansion or
contraction: a customer's converted change from month t−1 to t splits into the
movement at last month's rate, ``conv(M_t, r_{t−1}) − conv(M_{t−1}, r_{t−1})``,
and ``fx = conv(M_t, r_t) − conv(M_t, r_{t−1})``; the two add up exactly.

A rates file that cannot convert what the store holds is a one-line error naming
the file, the line and the currency; nothing is ever converted at 1:1 by default.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .currencies import is_iso_currency
from .model import currency_exponent, round_half_even
from .movements import CHURN, CONTRACTION, EXPANSION, FX, MOVEMENT_KINDS, NEW, REACTIVATION

_ALWAYS = "0000-00"   # a row without a month holds from the beginning


class Rates:
    """Rates into one reporting currency, optionally varying by month, with where each came from."""

    def __init__(self, reporting_currency: str, table: Mapping[str, list[tuple[str, Fraction, int]]],
                 path: str | Path = "rates file"):
        self.reporting_currency = reporting_currency.lower()
        self.path = str(path)
        self._table = {c.lower(): sorted(v) for c, v in table.items()}

    def rate(self, currency: str, month: str = "9999-12-31") -> Fraction:
        """The rate holding on a day (YYYY-MM-DD): the last row from that day or before."""
        currency = currency.lower()
        if currency == self.reporting_currency:
            return Fraction(1)
        entries = self._table.get(currency)
        if not entries:
            raise ConfigError(f"{self.path}: no line for {currency.upper()} (MRR in {currency.upper()} from {month}); "
                              f"add a line `{currency.upper()},<rate>`")
        index = bisect_right([m for m, _, _ in entries], month)
        if index == 0:
            first_month, _, line = entries[0]
            raise ConfigError(f"{self.path} line {line}: the first rate for {currency.upper()} holds from "
                              f"{first_month}, MRR in {currency.upper()} needs one for {month}; add a line for it")
        return entries[index - 1][1]

    def convert(self, amount_minor: int, currency: str, month: str = "9999-12-31") -> int:
        shift = currency_exponent(self.reporting_currency) - currency_exponent(currency)
        return round_half_even(Fraction(amount_minor) * self.rate(currency, month) * Fraction(10) ** shift)


def load_rates(path: str | Path, reporting_currency: str) -> Rates:
    """Read a rates file; a one-line ConfigError naming the file, line and currency of the first bad row."""
    if not is_iso_currency(reporting_currency):
        raise ConfigError(f"unknown reporting currency {reporting_currency!r}; use an ISO 4217 code such as USD")
    reporting = reporting_currency.lower()
    table: dict[str, list[tuple[str, Fraction, int]]] = defaultdict(list)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not {"currency", "rate"} <= set(reader.fieldnames or []):
                raise ConfigError(f"{path}: expected columns currency,rate[,month][,date]")
            for row in reader:
                line = reader.line_num
                currency = (row.get("currency") or "").strip()
                day = (row.get("date") or "").strip()
                if day and not _is_day(day):
                    raise ConfigError(f"{path} line {line}: date {day!r} for {currency.upper()} is not YYYY-MM-DD")
                month = day or (row.get("month") or "").strip() or _ALWAYS
                if not is_iso_currency(currency):
                    raise ConfigError(f"{path} line {line}: unknown currency {currency!r}; use an ISO 4217 code")
                try:
                    rate = Decimal((row.get("rate") or "").strip())
                    if not rate.is_finite() or rate <= 0:
                        raise InvalidOperation
                except InvalidOperation:
                    raise ConfigError(f"{path} line {line}: rate {row.get('rate')!r} for {currency.upper()} "
                                      "is not a positive number") from None
                if month not in (_ALWAYS, day) and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()
                                             and 1 <= int(month[5:]) <= 12):
                    raise ConfigError(f"{path} line {line}: month {month!r} for {currency.upper()} is not YYYY-MM")
                if currency.lower() == reporting and rate != 1:
                    raise ConfigError(
                        f"{path} line {line}: {currency.upper()} is the reporting currency but its rate is {rate}: "
                        "the file converts into another currency; pass that one as --reporting-currency")
                table[currency.lower()].append((month, Fraction(rate), line))
    except OSError as exc:
        raise ConfigError(f"cannot read rates file {path}: {exc.strerror}") from None
    return Rates(reporting_currency, table, path)


def _is_day(text: str) -> bool:
    try:
        return len(text) == 10 and date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def _month_before(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def _day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def month_end(month: str, as_of: date | None = None) -> str:
    """The day a month's figure is the MRR of: its last day, or the as-of day within it."""
    year, mon = int(month[:4]), int(month[5:7])
    last = date(year + mon // 12, mon % 12 + 1, 1) - timedelta(days=1)
    return min(last, as_of).isoformat() if as_of is not None and as_of >= date(year, mon, 1) else last.isoformat()


def converted_total(amounts: Mapping[str, int], rates: Rates, month: str) -> int:
    """A customer's MRR over their currencies, each converted and rounded once, summed."""
    return sum(rates.convert(amount, currency, month) for currency, amount in sorted(amounts.items()) if amount)


def convert_customer_months(rows: Iterable[Mapping[str, Any]], rates: Rates, as_of: date | None = None,
                            *, grain: str = "month") -> list[dict[str, Any]]:
    """History in the reporting currency with an ``fx`` movement, per month (or per day).

    ``rows`` are customer-months (customer_id, currency, month, mrr_minor), or with
    ``grain="day"`` customer-days (… ``day`` …; a customer's first day without MRR
    carries 0). Each customer is classified on their converted total over all their
    currencies, each period at the rate of its day (a month: its last day, or
    ``as_of`` within it). Returns one row per period with MRR, customers, each
    movement and fx, all in the reporting currency's minor units.
    """
    before_of = _day_before if grain == "day" else _month_before
    rate_day = (lambda day: day) if grain == "day" else (lambda month: month_end(month, as_of))
    months_of: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        months_of[row["customer_id"]][row[grain]][row["currency"]] = row["mrr_minor"]
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for customer_id in sorted(months_of):
        by_month = months_of[customer_id]
        had_mrr = False
        previous_month, previous = None, {}
        for month in sorted(by_month):
            amounts = by_month[month]
            prior_month = before_of(month)
            prior = previous if previous_month == prior_month else {}
            before = converted_total(prior, rates, rate_day(prior_month))
            at_old_rate = converted_total(amounts, rates, rate_day(prior_month))
            now = converted_total(amounts, rates, rate_day(month))
            bucket = totals[month]
            bucket["mrr_minor"] += now
            bucket["customers"] += 1 if any(a > 0 for a in amounts.values()) else 0
            change = at_old_rate - before
            if before <= 0 < at_old_rate:
                kind = REACTIVATION if had_mrr else NEW
            elif at_old_rate <= 0 < before:
                kind = CHURN
            elif change:
                kind = EXPANSION if change > 0 else CONTRACTION
            else:
                kind = ""
            if kind:
                bucket[f"{kind}_minor"] += change
            bucket[f"{FX}_minor"] += now - at_old_rate
            had_mrr = had_mrr or any(a > 0 for a in amounts.values())
            previous_month, previous = month, amounts
    result = []
    for month in sorted(totals):
        bucket = totals[month]
        movements = {f"{k}_minor": bucket.get(f"{k}_minor", 0) for k in (*MOVEMENT_KINDS, FX)}
        result.append({
            "period": month, "currency": rates.reporting_currency, "mrr_minor": bucket["mrr_minor"],
            "customers": bucket["customers"], **movements, "net_new_mrr_minor": sum(movements.values()),
        })
    return result


def convert_day(rows: Iterable[Mapping[str, Any]], rates: Rates, day_month: str) -> dict[str, Any]:
    """One day's MRR in the reporting currency from each customer's MRR per currency on that day
    (``day_month``: YYYY-MM-DD): the same per-customer conversion as ``convert_customer_months``,
    at the rate of the day."""
    by_customer: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        if row["mrr_minor"] > 0:
            by_customer[row["customer_id"]][row["currency"]] = row["mrr_minor"]
    return {
        "reporting_currency": rates.reporting_currency,
        "mrr_minor": sum(converted_total(amounts, rates, day_month) for amounts in by_customer.values()),
        "customers": len(by_customer),
    }
