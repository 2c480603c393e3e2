"""One stored policy that every read, export and later refresh obeys; nothing after the as-of day;
projections labelled; a reporting currency that agrees between `current` and `history`."""

from __future__ import annotations

import json
from fractions import Fraction
from datetime import date
from pathlib import Path

import pytest

from connector import refresh
from connector.mrr import engine
from connector.mrr.policy import load_policy
from connector.store import open_store
from tests.support.cli import run_cli

SAMPLE = str(Path(__file__).resolve().parents[2] / "fixtures" / "mrr_playbook_subscription_periods.csv")
AS_OF = date(2019, 6, 15)
NO_POLICY = {"BILLING_CONNECTOR_POLICY": ""}  # the default policy, whatever the environment says


def cli(*args):
    return run_cli(list(args), env=NO_POLICY)


@pytest.fixture(autouse=True)
def away_from_config(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "today_utc", lambda: AS_OF)


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "billing.db")
    result = run_cli(["import", "subscription-periods", SAMPLE, "--currency", "USD", "--db", path], env=NO_POLICY)
    assert result.exit_code == 0, result.output
    return path


def test_nothing_after_the_as_of_day_is_stored(db):
    store = open_store(db)
    assert store.db.execute("SELECT count(*) FROM mrr_movements WHERE _deleted = 0 AND day > ?",
                            [AS_OF.isoformat()]).fetchone() == (0,)
    assert store.db.execute("SELECT count(*) FROM mrr_customer_runs WHERE _deleted = 0 AND "
                            "(start_date > ? OR end_date > ?)", [AS_OF.isoformat()] * 2).fetchone() == (0,)
    store.close()


def test_a_future_date_is_a_labelled_projection(db):
    table = run_cli(["mrr", "current", "--date", "2019-09-30", "--db", db], env=NO_POLICY)
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0] == (
        "projection: MRR on 2019-09-30 if nothing changes after the stored as-of day (policy 'default')")
    as_json = json.loads(run_cli(["mrr", "current", "--date", "2019-09-30", "--format", "json", "--db", db], env=NO_POLICY).stdout)
    today = json.loads(run_cli(["mrr", "current", "--date", "2019-06-15", "--format", "json", "--db", db], env=NO_POLICY).stdout)
    assert [(d["projection"], d["policy"]) for d in (as_json, today)] == [(True, "default"), (False, "default")]
    assert as_json["rows"][0]["mrr"] != today["rows"][0]["mrr"]   # the periods ending in the summer are gone
    store = open_store(db)
    assert store.meta("mrr_as_of") == "2019-06-15"    # a projection writes nothing
    store.close()


def test_rebuild_switches_the_store_policy_for_reads_and_later_refreshes(db):
    result = run_cli(["mrr", "rebuild", "--policy", "profitwell", "--db", db], env=NO_POLICY)
    assert result.exit_code == 0, result.output
    metrics = run_cli(["mrr", "metrics", "--since", "2019-01", "--until", "2019-01", "--db", db], env=NO_POLICY)
    assert metrics.stderr == "policy 'profitwell' (the stored facts, as of 2019-06-15)\n"
    assert "profitwell" in metrics.stdout
    store = open_store(db)
    result = refresh.refresh_after_sync(store, load_policy("default"))   # the configured one does not win
    assert result["policy"] == "profitwell"
    assert {p for (p,) in store.db.execute("SELECT DISTINCT policy FROM mrr_monthly_metrics")} == {"profitwell"}
    assert engine.policy_of_store(store) == load_policy("profitwell")
    store.close()


def test_current_in_a_reporting_currency_equals_history_to_the_minor_unit_and_uses_the_days_rate(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate,month\nUSD,0.913,\nUSD,0.877,2019-03\n")
    history = json.loads(run_cli(["mrr", "history", "--rates", str(rates), "--reporting-currency", "EUR", "--format", "json", "--db", db], env=NO_POLICY).stdout)
    for month_end, month in (("2019-01-31", "2019-01"), ("2019-04-30", "2019-04"), ("2019-06-15", "2019-06")):
        current = json.loads(run_cli(["mrr", "current", "--date", month_end, "--rates", str(rates), "--reporting-currency", "EUR", "--format", "json", "--db", db], env=NO_POLICY).stdout)
        [row] = [r for r in history["rows"] if r["period"] == month and r["view"] == "reporting"]
        assert (current["reporting_total"], current["reporting_customers"]) == (row["mrr"], row["customers"]), month
    january = json.loads(run_cli(["mrr", "current", "--date", "2019-01-31", "--rates", str(rates), "--reporting-currency", "EUR", "--format", "json", "--db", db], env=NO_POLICY).stdout)
    # $620.00 at January's 0.913 (not today's 0.877), each of the 13 customers converted and rounded once
    assert january["rows"][0]["reporting_mrr"] == {"amount": "566.05", "amount_minor": 56605, "currency": "EUR"}


def test_a_rates_file_without_the_stores_currency_leaves_it_to_the_ecb_and_says_so(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nGBP,1.17\n")
    result = run_cli(["mrr", "current", "--date", "2019-06-15", "--rates", str(rates), "--reporting-currency", "EUR",
                      "--format", "json", "--db", db], env=NO_POLICY)
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["rows"]
    # 15 June 2019 is a Saturday: the last fixing before it, Friday's (EUR/USD 1.1265), converts it; each of
    # the 22 customers is rounded once, so the total is 1007.60, not $1,135.00 / 1.1265 = €1,007.55 rounded once
    customers = json.loads(run_cli(["mrr", "customers", "--since", "2019-06", "--until", "2019-06", "--format", "json",
                                    "--db", db], env=NO_POLICY).stdout)["rows"]
    june = [round(Fraction(r["mrr"]["amount_minor"]) / Fraction("1.1265")) for r in customers if r["mrr"]["amount_minor"] > 0]
    assert (len(june), sum(june)) == (22, 100760)
    assert (row["rate_source"], row["reporting_mrr"]["amount"]) == ("USD: ECB 2019-06-14", "1007.60")


def test_history_after_the_as_of_day_is_only_a_projection_asked_for_and_labelled(db, monkeypatch):
    monkeypatch.setattr(engine, "today_utc", lambda: date(2019, 8, 20))   # the store was last synced in June
    plain = json.loads(cli("mrr", "history", "--format", "json", "--db", db).stdout)
    days = json.loads(cli("mrr", "history", "--grain", "day", "--since", "2019-06-01", "--format", "json",
                          "--db", db).stdout)
    assert (plain["projection"], plain["rows"][-1]["period"]) == (False, "2019-06")
    assert (days["projection"], days["rows"][-1]["period"]) == (False, "2019-06-15")
    asked = json.loads(cli("mrr", "history", "--until", "2019-09", "--format", "json", "--db", db).stdout)
    assert (asked["projection"], asked["rows"][-1]["period"]) == (True, "2019-09")
    assert [r for r in asked["rows"] if r["period"] <= "2019-05"] == [r for r in plain["rows"] if r["period"] <= "2019-05"]
    table = cli("mrr", "history", "--until", "2019-09", "--db", db)
    assert table.stdout.splitlines()[0] == ("projection: MRR history through 2019-09-30 if nothing changes after "
                                            "the stored as-of day (policy 'default')")
    csv_rows = cli("mrr", "history", "--grain", "day", "--since", "2019-06-14", "--until", "2019-06-17",
                   "--format", "csv", "--db", db).stdout.splitlines()
    assert csv_rows[0].endswith(",policy,projection") and len(csv_rows) == 5
    store = open_store(db)
    assert store.meta("mrr_as_of") == "2019-06-15"    # a projection writes nothing
    store.close()
