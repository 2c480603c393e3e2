"""Rates files and conversion between currencies with different minor units."""

from __future__ import annotations

import pytest

from connector.errors import ConfigError
from connector.mrr.converted import history as convert_customer_months
from connector.mrr.fx import load_rates


def test_conversion_uses_both_exponents_and_month_rates(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate,month\nJPY,0.0067,\nJPY,0.0070,2024-03\nKWD,3.25,\n")
    rates = load_rates(path, "usd")
    assert rates.convert(150000, "jpy", "2024-02") == 100500     # ¥150,000 → $1,005.00
    assert rates.convert(150000, "jpy", "2024-03") == 105000
    assert rates.convert(1235, "kwd") == 401                      # 1.235 KWD → $4.01375 → $4.01
    assert rates.convert(999, "usd") == 999
    with pytest.raises(ConfigError) as missing:
        rates.convert(1, "eur", "2024-05")
    assert str(missing.value) == f"{path}: no line for EUR (MRR in EUR from 2024-05); add a line `EUR,<rate>`"


def test_fx_is_its_own_movement_and_everything_adds_up(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate,month\nEUR,1.10,\nEUR,1.20,2024-02\n")
    rows = [
        {"customer_id": "a", "currency": "eur", "month": "2024-01", "mrr_minor": 1000, "movement": "new"},
        {"customer_id": "a", "currency": "eur", "month": "2024-02", "mrr_minor": 1500, "movement": "expansion"},
        {"customer_id": "b", "currency": "usd", "month": "2024-02", "mrr_minor": 700, "movement": "new"},
    ]
    assert convert_customer_months(rows, load_rates(path, "USD")) == [
        {"period": "2024-01", "currency": "usd", "mrr_minor": 1100, "customers": 1, "new_minor": 1100,
         "expansion_minor": 0, "contraction_minor": 0, "churn_minor": 0, "reactivation_minor": 0, "fx_minor": 0,
         "net_new_mrr_minor": 1100},
        {"period": "2024-02", "currency": "usd", "mrr_minor": 2500, "customers": 2, "new_minor": 700,
         "expansion_minor": 550, "contraction_minor": 0, "churn_minor": 0, "reactivation_minor": 0, "fx_minor": 150,
         "net_new_mrr_minor": 1400},
    ]


@pytest.mark.parametrize("content, message", [
    ("currency,rate,month\nEUR,-1,\n", "line 2: rate '-1' for EUR is not a positive number; write it as a decimal such as 1.0845"),
    ("currency,rate,month\nEUR,1,\nXXX,1,\n", "line 3: unknown currency 'XXX'; use an ISO 4217 code such as EUR"),
    ("currency,rate,month\nGBP,1.2,March\n", "line 2: month 'March' for GBP is not a month; write it as YYYY-MM"),
    ("currency,rate\nEUR,1.08\nUSD,0.92\n", "line 3: USD is the reporting currency but its rate is 0.92: the file "
                                            "converts into another currency; pass that one as --reporting-currency"),
])
def test_a_bad_rates_file_is_one_line_naming_file_line_and_currency(tmp_path, content, message):
    path = tmp_path / "rates.csv"
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        load_rates(path, "USD")
    assert str(error.value) == f"{path} {message}"


def test_a_rate_that_starts_too_late_names_its_line(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate,month\nEUR,1.10,2024-03\n")
    with pytest.raises(ConfigError) as error:
        load_rates(path, "USD").convert(100, "eur", "2024-01")
    assert str(error.value) == (f"{path} line 2: the first rate for EUR holds from 2024-03, MRR in EUR needs one "
                                "for 2024-01; add a line for it")


def test_a_customer_paying_in_two_currencies_is_one_customer_and_a_switch_is_not_churn(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate\nEUR,1.10\n")
    rows = [
        {"customer_id": "a", "currency": "eur", "month": "2024-01", "mrr_minor": 1000, "movement": "new"},
        {"customer_id": "a", "currency": "usd", "month": "2024-01", "mrr_minor": 500, "movement": "new"},
        {"customer_id": "a", "currency": "eur", "month": "2024-02", "mrr_minor": 0, "movement": "churn"},
        {"customer_id": "a", "currency": "usd", "month": "2024-02", "mrr_minor": 1700, "movement": "expansion"},
    ]
    january, february = convert_customer_months(rows, load_rates(path, "USD"))
    assert (january["customers"], january["mrr_minor"], january["new_minor"]) == (1, 1600, 1600)
    assert (february["customers"], february["mrr_minor"], february["expansion_minor"], february["churn_minor"],
            february["new_minor"]) == (1, 1700, 100, 0, 0)
