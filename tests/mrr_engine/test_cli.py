"""Every MRR command and option through click's CliRunner: exit codes and exact output."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

import connector.app.mrr as mrr_jobs
from connector import refresh
from connector.cli import main
from connector.mrr import engine
from connector.store import open_store

from tests.support.segments import FakePolicy, stored_segments
from tests.support.cli import run_cli

SAMPLE = str(Path(__file__).resolve().parents[2] / "fixtures" / "mrr_playbook_subscription_periods.csv")


@pytest.fixture(autouse=True)
def fake_policy_and_segments(monkeypatch):
    # the policy/segment modules are another engineer's; the CLI is tested on its own seams
    monkeypatch.setattr(mrr_jobs, "policy_named", lambda settings, name: FakePolicy(name or settings.policy))
    monkeypatch.setattr(engine, "default_segment_source", stored_segments)
    monkeypatch.chdir(Path(__file__).parent)  # no stray ./config.toml


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "billing.db")
    result = run_cli(["import", "subscription-periods", SAMPLE, "--currency", "USD", "--db", path])
    assert (result.exit_code, result.stderr) == (0, "imported 121 segment rows; MRR updated for 55 customers\n")
    assert result.stdout == ""
    return path


def usd(amount: str) -> dict:
    """The one JSON shape of money: exact major units, integer minor units, upper-case code."""
    return {"amount": amount, "amount_minor": int(amount.replace(".", "")), "currency": "USD"}


def eur(amount: str) -> dict:
    return {**usd(amount), "currency": "EUR"}


def test_history_by_month_table(db):
    result = run_cli(["mrr", "history", "--grain", "month", "--since", "2019-01", "--until", "2019-04", "--db", db])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "period   currency     mrr  customers     new  expansion  contraction   churn  reactivation  net_new_mrr",
        "2019-01  USD       620.00         13   25.00      10.00         0.00    0.00          0.00        35.00",
        "2019-02  USD       625.00         13   30.00      25.00         0.00  -50.00          0.00         5.00",
        "2019-03  USD       660.00         14   60.00       0.00         0.00  -25.00          0.00        35.00",
        "2019-04  USD       895.00         17  120.00      65.00         0.00    0.00         50.00       235.00",
    ]


def test_history_by_day_csv(db):
    result = run_cli(["mrr", "history", "--grain", "day", "--since", "2019-05-31", "--until", "2019-06-01", "--format", "csv", "--db", db])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "period,currency,mrr,customers,new,expansion,contraction,churn,reactivation,net_new_mrr",
        "2019-05-31,USD,965.00,21,0.00,0.00,0.00,0.00,0.00,0.00",
        "2019-06-01,USD,1135.00,22,50.00,150.00,-30.00,0.00,0.00,170.00",
    ]


def test_history_in_a_reporting_currency_books_rate_changes_as_fx(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate,month\nUSD,0.5,\nUSD,0.6,2019-02\n")
    result = run_cli(["mrr", "history", "--since", "2019-01", "--until", "2019-02", "--rates", str(rates), "--reporting-currency", "EUR", "--format", "json", "--db", db])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["grain"], document["partial"], document["warning"]) == ("month", False, None)
    assert document["reporting_currency"] == "EUR"
    # the per-currency view first, unchanged, then the converted one beside it
    assert [(r["view"], r["period"], r["currency"], r["mrr"]["amount"]) for r in document["rows"]] == [
        ("currency", "2019-01", "USD", "620.00"), ("currency", "2019-02", "USD", "625.00"),
        ("reporting", "2019-01", "EUR", "310.00"), ("reporting", "2019-02", "EUR", "375.00")]
    assert [r for r in document["rows"] if r["view"] == "reporting"] == [
        {"period": "2019-01", "currency": "EUR", "mrr": eur("310.00"), "customers": 13, "new": eur("12.50"),
         "expansion": eur("5.00"), "contraction": eur("0.00"), "churn": eur("0.00"), "reactivation": eur("0.00"),
         "fx": eur("0.00"), "net_new_mrr": eur("17.50"), "view": "reporting", "rate_source": "USD: rates.csv line 2"},
        {"period": "2019-02", "currency": "EUR", "mrr": eur("375.00"), "customers": 13, "new": eur("18.00"),
         "expansion": eur("12.50"), "contraction": eur("0.00"), "churn": eur("-25.00"), "reactivation": eur("0.00"),
         "fx": eur("59.50"), "net_new_mrr": eur("65.00"), "view": "reporting", "rate_source": "USD: rates.csv line 3"},
    ]


def test_customers_for_one_customer(db):
    result = run_cli(["mrr", "customers", "--grain", "month", "--customer", "1", "--since", "2019-01", "--until", "2019-06", "--format", "csv", "--db", db])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "customer_id,month,currency,mrr,movement,movement_amount,cause",
        "1,2019-01,USD,50.00,,,",
        "1,2019-02,USD,0.00,churn,-50.00,cancellation",
        "1,2019-04,USD,50.00,reactivation,50.00,reactivation",
        "1,2019-05,USD,50.00,,,",
        "1,2019-06,USD,75.00,expansion,25.00,plan_change",
    ]


def test_metrics_json(db):
    result = run_cli(["mrr", "metrics", "--grain", "month", "--since", "2019-02", "--until", "2019-02", "--format", "json", "--db", db])
    assert result.exit_code == 0
    [row] = json.loads(result.stdout)["rows"]
    assert row == {
        "month": "2019-02", "currency": "USD", "customer_rows": 14, "mrr": usd("625.00"), "start_mrr": usd("620.00"),
        "customers": 13, "start_customers": 13, "new": usd("30.00"), "expansion": usd("25.00"),
        "contraction": usd("0.00"), "churn": usd("-50.00"), "reactivation": usd("0.00"), "new_customers": 1,
        "churned_customers": 1, "reactivated_customers": 0, "arr": usd("7500.00"), "arpu": usd("48.08"),
        "net_new_mrr": usd("5.00"),
        "gross_mrr_churn_rate": "0.080645", "net_mrr_churn_rate": "0.040323",
        "gross_revenue_retention": "0.919355", "net_revenue_retention": "0.959677",
        "customer_churn_rate": "0.076923", "quick_ratio": "1.100000", "policy": "default",
    }


def test_current_with_rates(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nUSD,0.9\n")
    result = run_cli(["mrr", "current", "--date", "2019-06-15", "--rates", str(rates), "--reporting-currency", "EUR", "--format", "csv", "--db", db])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "date,currency,mrr,customers,policy,projection,reporting_currency,reporting_mrr,rate_source",
        "2019-06-15,USD,1135.00,22,default,false,EUR,1021.50,USD: rates.csv line 2",
        "2019-06-15,total,,22,default,false,EUR,1021.50,",
    ]
    missing = run_cli(["mrr", "current", "--rates", str(rates), "--db", db])
    assert (missing.exit_code, missing.stderr) == (
        2, "error: --rates needs a reporting currency: pass --reporting-currency or set mrr.reporting_currency\n"
    )


def test_current_table_and_bad_date(db):
    result = run_cli(["mrr", "current", "--date", "2019-06-15", "--db", db])
    assert result.stdout.splitlines() == ["date        currency      mrr  customers", "2019-06-15  USD       1135.00         22"]
    bad = run_cli(["mrr", "current", "--date", "15/06/2019", "--db", db])
    assert (bad.exit_code, bad.stderr) == (2, "error: --date '15/06/2019' is not a date: use YYYY-MM-DD\n")
    bad_month = run_cli(["mrr", "history", "--since", "2019-13", "--db", db])
    assert (bad_month.exit_code, bad_month.stderr) == (2, "error: --since '2019-13' is not a month: use YYYY-MM\n")


def test_another_policy_is_computed_on_the_fly_without_writing(db):
    store = open_store(db)
    seq = store.current_seq()
    store.close()
    result = run_cli(["mrr", "history", "--since", "2019-01", "--until", "2019-01", "--policy", "stripe", "--format", "csv", "--db", db])
    assert result.exit_code == 0
    assert result.stderr == "computed under policy 'stripe' from the stored segments (nothing written)\n"
    assert result.stdout.splitlines()[1] == "2019-01,USD,620.00,13,25.00,10.00,0.00,0.00,0.00,35.00"
    store = open_store(db)
    assert (store.current_seq(), store.meta("mrr_policy")) == (seq, "default")
    store.close()


def test_rebuild_under_another_policy_stores_it(db):
    result = run_cli(["mrr", "rebuild", "--policy", "chartmogul", "--db", db])
    assert result.exit_code == 0
    # every row names its policy, so all change: 115 runs + 173 day movements + 410 customer-months; 29 months
    assert result.stderr == (
        "rebuilt MRR under policy 'chartmogul' (now the store's policy): 55 customers, 698 rows and "
        "29 monthly metric rows written\n"
    )
    store = open_store(db)
    assert store.meta("mrr_policy") == "chartmogul"
    store.close()


def test_explain_json_and_unknown_customer(db):
    result = run_cli(["explain", "1", "--date", "2019-06-15", "--format", "json", "--db", db])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["mrr"] == [{"currency": "USD", "mrr": usd("75.00")}]
    assert [(s["source_id"], s["amount"]) for s in report["segments"]] == [("3@2019-06-01", usd("75.00"))]
    assert [(m["day"], m["movement"], m["cause"], m["segment_ids"]) for m in report["movements"]] == [
        ("2018-11-01", "new", "new_subscription", ["import:1:2018-11-01"]),
        ("2019-02-01", "churn", "cancellation", ["import:1:2018-11-01"]),
        ("2019-04-01", "reactivation", "reactivation", ["import:2:2019-04-01"]),
        ("2019-06-01", "expansion", "plan_change", ["import:2:2019-04-01", "import:3:2019-06-01"]),
        ("2019-08-01", "churn", "cancellation", ["import:3:2019-06-01"]),
    ]
    table = run_cli(["explain", "1", "--date", "2019-06-15", "--db", db])
    assert table.exit_code == 0 and "3@2019-06-01" in table.stdout
    unknown = run_cli(["explain", "nobody", "--db", db])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: no revenue segments or MRR facts for customer 'nobody'")


def test_import_refuses_a_bad_file_and_an_unknown_currency(tmp_path):
    path = str(tmp_path / "b.db")
    bad = tmp_path / "bad.csv"
    bad.write_text("subscription_id,customer_id,start_date,end_date,monthly_amount\n1,c,2020-01-01,2019-01-01,5\n")
    result = run_cli(["import", "subscription-periods", str(bad), "--currency", "USD", "--db", path])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == ["line 2: end_date 2019-01-01 is before start_date 2020-01-01"]
    assert not Path(path).exists()   # a rejected import creates no store
    currency = run_cli(["import", "subscription-periods", SAMPLE, "--currency", "XYZ", "--db", path])
    assert (currency.exit_code, currency.stderr) == (
        2, "error: unknown currency 'XYZ': pass an ISO 4217 code such as USD with --currency\n"
    )


def test_import_in_another_currency_with_policy_and_config(tmp_path):
    path = tmp_path / "c.db"
    config = tmp_path / "config.toml"
    config.write_text(f'db = "{path}"\n[mrr]\npolicy = "profitwell"\n')
    result = run_cli(["import", "subscription-periods", SAMPLE, "--currency", "JPY", "--config", str(config)])
    assert result.exit_code == 0, result.output
    history = run_cli(["mrr", "history", "--since", "2019-01", "--until", "2019-01", "--format", "csv", "--config", str(config)])
    assert history.stdout.splitlines()[1] == "2019-01,JPY,620,13,25,10,0,0,0,35"
    store = open_store(str(path))
    assert store.meta("mrr_policy") == "profitwell"
    store.close()
    explicit = run_cli(["import", "subscription-periods", SAMPLE, "--currency", "JPY", "--policy", "stripe", "--db", str(path)])
    assert explicit.stderr == "imported 0 segment rows; MRR updated for 55 customers\n"


def test_backfill_calls_the_engine(db, monkeypatch):
    calls = []

    def fake_backfill(store, configured, switch_to=None):
        calls.append(switch_to.name)
        return {"mapped_customers": 3, "customers": 55, "rows_written": 0}

    monkeypatch.setattr(refresh, "backfill", fake_backfill)
    result = run_cli(["backfill", "--policy", "stripe", "--db", db])
    assert (result.exit_code, result.stderr, calls) == (
        0, "backfilled: 3 customers mapped, 55 recomputed, 0 rows written\n", ["stripe"]
    )


def test_a_missing_store_is_a_store_error(tmp_path):
    result = run_cli(["mrr", "metrics", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 5
    assert "no store at" in result.stderr


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [("mrr",), ("mrr", "current"), ("mrr", "history"), ("mrr", "customers"),
                                  ("mrr", "metrics"), ("mrr", "rebuild"), ("explain",), ("import",),
                                  ("import", "subscription-periods"), ("backfill",)])
def test_every_command_has_help_with_an_example_and_every_option_has_help(path):
    command = dict(_commands(main))[path]
    result = run_cli([*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert all(param.help for param in command.params if isinstance(param, click.Option))
