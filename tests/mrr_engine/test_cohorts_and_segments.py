"""Cohorts and segments on a hand-worked account, through the real policy and engine and the CLI.

The account (as of 2024-04-30):

* ``a`` (US): Basic $100/month 10 Jan – 4 Mar, then Pro $150/month from 2 April (churn in March, back in April);
* ``b`` (CA): Basic $50/month 20 Jan – 9 Feb, then Pro $80/month from 10 Feb (an upgrade in February);
* ``c`` (DE): Basic €200/month 1 Feb – 14 Apr (churn in April).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from connector.mapping.schema import ensure_schema
from connector.mrr import engine
from connector.mrr.cohorts import cohort_table
from connector.mrr.model import segment_row, write_customer_segments
from connector.mrr.policy import load_policy
from connector.store import AccountIdentity, open_store
from tests.support.cli import run_cli

AS_OF = date(2024, 4, 30)
PLANS = {"price_basic": ("Basic", "usd", 10000), "price_pro": ("Pro", "usd", 15000),
         "price_basic_eur": ("Basic", "eur", 20000)}
PIECES = [  # customer, price, currency, start, end (exclusive), amount per month
    ("a", "price_basic", "usd", "2024-01-10", "2024-03-05", 10000),
    ("a", "price_pro", "usd", "2024-04-02", None, 15000),
    ("b", "price_basic", "usd", "2024-01-20", "2024-02-10", 5000),
    ("b", "price_pro", "usd", "2024-02-10", None, 8000),
    ("c", "price_basic_eur", "eur", "2024-02-01", "2024-04-15", 20000),
]
COUNTRIES = {"a": "US", "b": "CA", "c": "DE"}


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # no stray ./config.toml
    path = tmp_path / "billing.db"
    store = open_store(path)
    store.bind_account(AccountIdentity("stripe", "acct_handworked", False, "2026-10-28.endive"))
    ensure_schema(store)
    store.upsert_rows("billing_plans", ("provider", "id"), [
        {"provider": "stripe", "id": price, "product_id": f"prod_{name.lower()}", "product_name": name,
         "nickname": None, "type": "recurring", "currency": currency, "interval": "month", "interval_count": 1}
        for price, (name, currency, _amount) in PLANS.items()])
    store.upsert_rows("billing_customers", ("provider", "id"), [
        {"provider": "stripe", "id": c, "customer_id": c, "name": f"Customer {c.upper()}", "country": country}
        for c, country in COUNTRIES.items()])
    for customer in COUNTRIES:
        rows = [segment_row(segment_id=f"{customer}:{start}", provider="stripe", customer_id=customer,
                            source_type="subscription_item", source_id=f"si_{customer}_{start}", currency=currency,
                            start=date.fromisoformat(start), end=date.fromisoformat(end) if end else None,
                            amount_minor=amount, detail={"price": price})
                for c, price, currency, start, end, amount in PIECES if c == customer]
        write_customer_segments(store, "stripe", customer, rows)
    engine.rebuild(store, load_policy("default"), as_of=AS_OF)
    store.close()
    return str(path)


def run(*args):
    return run_cli(list(args), env={"BILLING_CONNECTOR_POLICY": ""})


def test_cohort_table_of_the_hand_worked_account():
    series = {("a", "usd"): {"2024-01": 10000, "2024-02": 10000, "2024-03": 0, "2024-04": 15000},
              ("b", "usd"): {"2024-01": 5000, "2024-02": 8000, "2024-03": 8000, "2024-04": 8000},
              ("c", "eur"): {"2024-02": 20000, "2024-03": 20000, "2024-04": 0}}
    rows = [(r["currency"], r["cohort"], r["month"], r["months_since"], r["cohort_customers"], r["customers"],
             r["logo_retention"], r["cohort_mrr_minor"], r["mrr_minor"], r["revenue_retention"])
            for r in cohort_table(series)]
    assert rows == [
        ("eur", "2024-02", "2024-02", 0, 1, 1, "1.000000", 20000, 20000, "1.000000"),
        ("eur", "2024-02", "2024-03", 1, 1, 1, "1.000000", 20000, 20000, "1.000000"),
        ("eur", "2024-02", "2024-04", 2, 1, 0, "0.000000", 20000, 0, "0.000000"),
        ("usd", "2024-01", "2024-01", 0, 2, 2, "1.000000", 15000, 15000, "1.000000"),
        ("usd", "2024-01", "2024-02", 1, 2, 2, "1.000000", 15000, 18000, "1.200000"),
        ("usd", "2024-01", "2024-03", 2, 2, 1, "0.500000", 15000, 8000, "0.533333"),
        ("usd", "2024-01", "2024-04", 3, 2, 2, "1.000000", 15000, 23000, "1.533333"),
    ]


def test_mrr_cohorts_per_currency_and_in_the_reporting_currency(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nEUR,1.10\n")
    result = run("mrr", "cohorts", "--reporting-currency", "USD", "--rates", str(rates), "--format", "csv", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "currency,cohort,month,months_since,cohort_customers,customers,logo_retention,cohort_mrr,mrr,"
        "revenue_retention,view",
        "EUR,2024-02,2024-02,0,1,1,1.000000,200.00,200.00,1.000000,currency",
        "EUR,2024-02,2024-03,1,1,1,1.000000,200.00,200.00,1.000000,currency",
        "EUR,2024-02,2024-04,2,1,0,0.000000,200.00,0.00,0.000000,currency",
        "USD,2024-01,2024-01,0,2,2,1.000000,150.00,150.00,1.000000,currency",
        "USD,2024-01,2024-02,1,2,2,1.000000,150.00,180.00,1.200000,currency",
        "USD,2024-01,2024-03,2,2,1,0.500000,150.00,80.00,0.533333,currency",
        "USD,2024-01,2024-04,3,2,2,1.000000,150.00,230.00,1.533333,currency",
        # in USD, c's €200 is $220 and joins February's cohort
        "USD,2024-01,2024-01,0,2,2,1.000000,150.00,150.00,1.000000,reporting",
        "USD,2024-01,2024-02,1,2,2,1.000000,150.00,180.00,1.200000,reporting",
        "USD,2024-01,2024-03,2,2,1,0.500000,150.00,80.00,0.533333,reporting",
        "USD,2024-01,2024-04,3,2,2,1.000000,150.00,230.00,1.533333,reporting",
        "USD,2024-02,2024-02,0,1,1,1.000000,220.00,220.00,1.000000,reporting",
        "USD,2024-02,2024-03,1,1,1,1.000000,220.00,220.00,1.000000,reporting",
        "USD,2024-02,2024-04,2,1,0,0.000000,220.00,0.00,0.000000,reporting",
    ]


def test_history_by_plan_splits_a_plan_change_into_its_two_plans(db):
    result = run("mrr", "history", "--by", "plan", "--format", "csv", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "period,by,segment,currency,mrr,customers,new,expansion,contraction,churn,reactivation,net_new_mrr",
        "2024-01,plan,Basic (price_basic),USD,150.00,2,150.00,0.00,0.00,0.00,0.00,150.00",
        "2024-02,plan,Basic (price_basic),USD,100.00,1,0.00,0.00,0.00,-50.00,0.00,-50.00",
        "2024-02,plan,Basic (price_basic_eur),EUR,200.00,1,200.00,0.00,0.00,0.00,0.00,200.00",
        "2024-02,plan,Pro (price_pro),USD,80.00,1,80.00,0.00,0.00,0.00,0.00,80.00",
        "2024-03,plan,Basic (price_basic),USD,0.00,0,0.00,0.00,0.00,-100.00,0.00,-100.00",
        "2024-03,plan,Basic (price_basic_eur),EUR,200.00,1,0.00,0.00,0.00,0.00,0.00,0.00",
        "2024-03,plan,Pro (price_pro),USD,80.00,1,0.00,0.00,0.00,0.00,0.00,0.00",
        "2024-04,plan,Basic (price_basic_eur),EUR,0.00,0,0.00,0.00,0.00,-200.00,0.00,-200.00",
        "2024-04,plan,Pro (price_pro),USD,230.00,2,150.00,0.00,0.00,0.00,0.00,150.00",
    ]


@pytest.mark.parametrize("dimension", ["product", "interval", "currency", "country"])
def test_every_dimension_adds_up_to_the_months_mrr_per_currency(db, dimension):
    by = json.loads(run("mrr", "history", "--by", dimension, "--format", "json", "--db", db).stdout)["rows"]
    history = json.loads(run("mrr", "history", "--format", "json", "--db", db).stdout)["rows"]
    totals: dict = {}
    for row in by:
        key = (row["period"], row["currency"])
        totals[key] = totals.get(key, 0) + row["mrr"]["amount_minor"]
    assert totals == {(r["period"], r["currency"]): r["mrr"]["amount_minor"] for r in history}


def test_history_by_country_reads_the_customers_address(db):
    result = run("mrr", "history", "--by", "country", "--since", "2024-04", "--format", "csv", "--db", db)
    assert result.stdout.splitlines()[1:] == [
        "2024-04,country,CA,USD,80.00,1,0.00,0.00,0.00,0.00,0.00,0.00",
        "2024-04,country,DE,EUR,0.00,0,0.00,0.00,0.00,-200.00,0.00,-200.00",
        "2024-04,country,US,USD,150.00,1,0.00,0.00,0.00,0.00,150.00,150.00",
    ]


def test_a_by_value_not_offered_lists_the_valid_ones(db):
    result = run("mrr", "history", "--by", "region", "--db", db)
    assert (result.exit_code, result.stderr) == (
        2, "error: --by 'region' is not offered; choose one of plan, product, interval, currency, country\n")


def test_explain_shows_the_day_and_the_months_in_the_reporting_currency(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nEUR,1.10\n")
    result = run("explain", "c", "--date", "2024-03-15", "--reporting-currency", "USD", "--rates", str(rates),
                 "--format", "json", "--db", db)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [mrr] = document["mrr"]
    assert (mrr["mrr"]["amount"], mrr["reporting_mrr"], mrr["rate_source"]) == (
        "200.00", {"amount": "220.00", "amount_minor": 22000, "currency": "USD"}, "EUR: rates.csv line 2")
    assert [(m["month"], m["mrr"]["amount"], m["movement"]) for m in document["reporting_months"]] == [
        ("2024-02", "220.00", "new"), ("2024-03", "220.00", ""), ("2024-04", "0.00", "churn")]


def test_refresh_rates_fetches_the_newest_ecb_file_first(db, tmp_path, monkeypatch):
    import responses
    from currency_converter import CURRENCY_FILE, ECB_URL

    cache = tmp_path / "ecb.zip"
    monkeypatch.setenv("BILLING_CONNECTOR_RATES_CACHE", str(cache))
    with responses.RequestsMock() as mocked:
        mocked.add(responses.GET, ECB_URL, body=Path(CURRENCY_FILE).read_bytes())
        result = run("mrr", "current", "--date", "2024-03-15", "--reporting-currency", "EUR", "--refresh-rates",
                     "--format", "csv", "--db", db)
    assert result.exit_code == 0, result.output
    assert f"refreshed the ECB reference rates into {cache}\n" in result.stderr
    # $80 (b) at the ECB's 15 March 2024 fixing, 1.0892: 80 / 1.0892 = €73.448… → €73.45; c's €200 stays €200
    assert result.stdout.splitlines()[1:] == [
        "2024-03-15,EUR,200.00,1,default,false,EUR,200.00,same currency",
        "2024-03-15,USD,80.00,1,default,false,EUR,73.45,USD: ECB 2024-03-15",
        "2024-03-15,total,,2,default,false,EUR,273.45,",
    ]


def _exported(folder: Path, table: str) -> list[dict]:
    return [json.loads(line) for path in sorted((folder / table).glob("*.jsonl")) for line in path.read_text().splitlines()]


def test_export_sends_segments_cohorts_and_the_converted_view_and_then_only_what_changed(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nEUR,1.10\n")
    folder = tmp_path / "out"
    first = run("export", "--to", f"jsonl:{folder}", "--reporting-currency", "USD", "--rates", str(rates),
                "--format", "json", "--db", db)
    assert first.exit_code == 0, first.output
    segments = _exported(folder, "mrr_segment_months")
    pro_april = [r for r in segments if (r["view"], r["dimension"], r["segment"], r["month"])
                 == ("currency", "plan", "Pro (price_pro)", "2024-04")]
    assert [(r["mrr_minor"], r["customers"], r["new_minor"], r["policy"]) for r in pro_april] == [(23000, 2, 15000, "default")]
    assert {r["dimension"] for r in segments} == {"plan", "product", "interval", "currency", "country"}
    cohorts = _exported(folder, "mrr_cohorts")
    assert [(r["cohort"], r["month"], r["cohort_mrr_minor"], r["mrr_minor"], r["revenue_retention"])
            for r in cohorts if r["view"] == "reporting" and r["cohort"] == "2024-02"] == [
        ("2024-02", "2024-02", 22000, 22000, "1.000000"), ("2024-02", "2024-03", 22000, 22000, "1.000000"),
        ("2024-02", "2024-04", 22000, 0, "0.000000")]
    reporting = {r["month"]: r for r in _exported(folder, "mrr_reporting_months")}
    assert [(m, reporting[m]["mrr_minor"], reporting[m]["rate_source"]) for m in sorted(reporting)] == [
        ("2024-01", 15000, ""), ("2024-02", 40000, "EUR: rates.csv line 2"),
        ("2024-03", 30000, "EUR: rates.csv line 2"), ("2024-04", 23000, "")]
    again = run("export", "--to", f"jsonl:{folder}", "--reporting-currency", "USD", "--rates", str(rates),
                "--format", "json", "--db", db)
    sent = {t["table"]: t["rows_sent"] for t in json.loads(again.stdout)["tables"]}
    assert (sent["mrr_segment_months"], sent["mrr_cohorts"], sent["mrr_reporting_months"]) == (0, 0, 0)
