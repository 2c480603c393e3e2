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

import calendar
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
from .ecb import Quote
from .model import currency_exponent, round_half_even

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

    def covers(self, currency: str) -> bool:
        """True when the file has rows for ``currency`` (then it alone converts that currency)."""
        return currency.lower() in self._table or currency.lower() == self.reporting_currency

    def quote(self, currency: str, day: date) -> Quote:
        """The rate of ``day`` (the file's last row from that day or before) and the line it came from."""
        currency = currency.lower()
        if currency == self.reporting_currency:
            return Quote(Fraction(1), "same currency")
        key = day.isoformat()     # a row holds from its date, or from its month's first day
        rate = self.rate(currency, key)
        entries = self._table[currency]
        line = entries[bisect_right([m for m, _, _ in entries], key) - 1][2]
        return Quote(rate, f"{Path(self.path).name} line {line}")

    def convert(self, amount_minor: int, currency: str, when: str | date = "9999-12-31") -> int:
        return convert_minor(amount_minor, currency, self.reporting_currency, self.quote(currency, rate_day(when)))


def rate_day(when: str | date) -> date:
    """The day whose rate converts a figure: a day itself (a date or ``YYYY-MM-DD``), or a month's
    (``YYYY-MM``) last day."""
    if isinstance(when, date):
        return when
    if len(when) == 10:
        return date.fromisoformat(when)
    year, month = int(when[:4]), int(when[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def convert_minor(amount_minor: int, currency: str, reporting_currency: str, quote: Quote) -> int:
    """``amount_minor`` of ``currency`` in the reporting currency's minor units, rounded once, half to even."""
    shift = currency_exponent(reporting_currency) - currency_exponent(currency)
    return round_half_even(Fraction(amount_minor) * quote.rate * Fraction(10) ** shift)


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
                    raise ConfigError(f"{path} line {line}: unknown currency {currency!r}; use an ISO 4217 code "
                                      "such as EUR")
                try:
                    rate = Decimal((row.get("rate") or "").strip())
                    if not rate.is_finite() or rate <= 0:
                        raise InvalidOperation
                except InvalidOperation:
                    raise ConfigError(f"{path} line {line}: rate {row.get('rate')!r} for {currency.upper()} "
                                      "is not a positive number; write it as a decimal such as 1.0845") from None
                if month not in (_ALWAYS, day) and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()
                                             and 1 <= int(month[5:]) <= 12):
                    raise ConfigError(f"{path} line {line}: month {month!r} for {currency.upper()} is not a month; "
                                      "write it as YYYY-MM")
                if currency.lower() == reporting and rate != 1:
                    raise ConfigError(
                        f"{path} line {line}: {currency.upper()} is the reporting currency but its rate is {rate}: "
                        "the file converts into another currency; pass that one as --reporting-currency")
                earlier = next((other for start, _, other in table[currency.lower()] if start == month), None)
                if earlier is not None:
                    holds = "from the beginning" if month == _ALWAYS else f"from {month}"
                    raise ConfigError(f"{path} line {line}: a second rate for {currency.upper()} {holds} (line "
                                      f"{earlier} has one); keep one row per currency and month")
                table[currency.lower()].append((month, Fraction(rate), line))
    except OSError as exc:
        raise ConfigError(f"cannot read rates file {path}: {exc.strerror}") from None
    return Rates(reporting_currency, table, path)


def _is_day(text: str) -> bool:
    try:
        return len(text) == 10 and date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def month_end(month: str, as_of: date | None = None) -> str:
    """The day a month's figure is the MRR of: its last day, or the as-of day within it."""
    year, mon = int(month[:4]), int(month[5:7])
    last = date(year + mon // 12, mon % 12 + 1, 1) - timedelta(days=1)
    return min(last, as_of).isoformat() if as_of is not None and as_of >= date(year, mon, 1) else last.isoformat()


def convert_customer_months(rows: Iterable[Mapping[str, Any]], rates, *, grain: str = "month",
                            rules=None) -> list[dict[str, Any]]:
    """History in the reporting currency with an ``fx`` movement, per month or (``grain="day"``) per day:
    connector.mrr.converted.history (each period at the rate of its day, under the policy's ``rules``)."""
    from .converted import history

    return history(rows, rates, grain=grain, rules=rules)
