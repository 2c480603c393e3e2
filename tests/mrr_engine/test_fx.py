"""Rates files and conversion between currencies with different minor units."""

from __future__ import annotations

import pytest

from connector.errors import ConfigError
from connector.mrr.fx import convert_customer_months, load_rates


def test_conversion_uses_both_exponents_and_month_rates(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate,month\nJPY,0.0067,\nJPY,0.0070,2024-03\nKWD,3.25,\n")
    rates = load_rates(path, "usd")
    assert rates.convert(150000, "jpy", "2024-02") == 100500     # ¥150,000 → $1,005.00
    assert rates.convert(150000, "jpy", "2024-03") == 105000
    assert rates.convert(1235, "kwd") == 401                      # 1.235 KWD → $4.01375 → $4.01
    assert rates.convert(999, "usd") == 999
    with pytest.raises(ConfigError, match="no rate for EUR in the rates file"):
        rates.convert(1, "eur")


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


def test_a_bad_rates_file_lists_its_lines(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,rate,month\nEUR,-1,\nXXX,1,\nGBP,1.2,March\n")
    with pytest.raises(ConfigError) as error:
        load_rates(path, "USD")
    assert str(error.value).splitlines()[1:] == [
        "line 2: rate '-1' is not a positive number",
        "line 3: unknown currency 'XXX'",
        "line 4: month 'March' is not YYYY-MM",
    ]
