"""`billing-connector report` through click: the HTML file, the terminal summary, errors."""

from __future__ import annotations

import json

import pytest

from connector.errors import EXIT_STORE, EXIT_USAGE

from tests.support.mrr_store import build_store
from tests.support.cli import run_cli

NO_POLICY = {"BILLING_CONNECTOR_POLICY": ""}  # the default policy, whatever the environment says


@pytest.fixture(autouse=True)
def _away_from_any_config(tmp_path, monkeypatch):
    """A ./config.toml in the checkout must not leak into these runs."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "billing.db"
    build_store(path).close()
    return str(path)


def test_html_report_is_written(db, tmp_path):
    target = tmp_path / "mrr.html"
    result = run_cli(["report", "--html", str(target), "--db", db], env=NO_POLICY)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == f"wrote {target}\n"
    html = target.read_text()
    assert html.count('<section class="currency"') == 3 and '<span class="policy-name">default</span>' in html


def test_reporting_currency_from_flag_env_and_config_adds_the_converted_view(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nKWD,3.25\n")
    target = tmp_path / "mrr.html"
    result = run_cli(["report", "--html", str(target), "--db", db, "--reporting-currency", "USD", "--rates", str(rates)], env=NO_POLICY)
    assert result.exit_code == 0, result.stderr
    html = target.read_text()
    assert html.count('<section class="reporting"') == 1 and "All currencies in USD" in html
    assert "KWD: rates.csv line 2; JPY" not in html and "JPY: ECB " in html and "KWD: rates.csv line 2" in html
    (tmp_path / "config.toml").write_text(f'[mrr]\nreporting_currency = "EUR"\nrates_file = "{rates}"\n')
    rates.write_text("currency,rate\nKWD,2.95\nUSD,0.9\n")
    assert run_cli(["report", "--html", str(target), "--db", db], env=NO_POLICY).exit_code == 0
    assert "All currencies in EUR" in target.read_text() and "USD: rates.csv line 3" in target.read_text()
    # no rate for KWD anywhere: one line naming it, no report written
    rates.write_text("currency,rate\nUSD,0.9\n")
    target.unlink()
    failed = run_cli(["report", "--html", str(target), "--db", db], env=NO_POLICY)
    assert (failed.exit_code, failed.stderr) == (EXIT_USAGE, "error: no ECB reference rate for KWD: the ECB does not "
                                                 "publish it; give its rates in a rates file (--rates, [mrr] rates_file)\n")
    assert not target.exists()


def test_other_policy_flag_reaches_the_report(db, tmp_path):
    target = tmp_path / "mrr.html"
    assert run_cli(["report", "--html", str(target), "--db", db, "--policy", "stripe"], env=NO_POLICY).exit_code == 0
    assert '<span class="policy-name">stripe</span>' in target.read_text()


def test_terminal_summary_and_json(db):
    # The facts were computed up to 2019-12; today the open-ended JPY and KWD customers still pay.
    text = run_cli(["report", "--db", db], env=NO_POLICY)
    assert text.exit_code == 0
    assert text.output.splitlines()[1] == (
        "note: figures computed as of 2019-12-15; run `billing-connector sync` to update them"
    )
    assert "JPY: 1,000 MRR, 1 paying customer" in text.output.splitlines()
    assert "KWD: 12.345 MRR, 1 paying customer" in text.output.splitlines()
    summary = json.loads(run_cli(["report", "--db", db, "--json"], env=NO_POLICY).stdout)
    assert (summary["policy"], summary["computed_through"], summary["computed_as_of"]) == (
        "default", "2019-12", "2019-12-15",
    )
    assert [(c["currency"], c["mrr"], len(c["months"])) for c in summary["currencies"]] == [
        ("JPY", {"amount": "1000", "amount_minor": 1000, "currency": "JPY"}, 12),
        ("KWD", {"amount": "12.345", "amount_minor": 12345, "currency": "KWD"}, 12),
        ("USD", {"amount": "1255.00", "amount_minor": 125500, "currency": "USD"}, 12),
    ]   # the facts stop at their as-of day: the USD periods ending on 2020-01-01 were still running then
    assert (summary["partial"], summary["warning"]) == (False, None)
    csv_lines = run_cli(["report", "--db", db, "--format", "csv"], env=NO_POLICY).stdout.splitlines()
    assert csv_lines[0] == "currency,month,mrr,customers,new,expansion,contraction,churn,reactivation,net_new_mrr"
    assert len(csv_lines) == 1 + 36


def test_unknown_policy_and_missing_store_are_one_line_errors(db, tmp_path):
    result = run_cli(["report", "--db", db, "--policy", "baremetrics"], env=NO_POLICY)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr == "error: unknown MRR policy 'baremetrics': use one of default, stripe, chartmogul, profitwell, chargebee\n"
    missing = tmp_path / "none.db"
    result = run_cli(["report", "--db", str(missing), "--html", str(tmp_path / "r.html")], env=NO_POLICY)
    assert result.exit_code == EXIT_STORE
    assert result.stderr == f"error: no store at {missing}: run `billing-connector sync` first or pass --db\n"
    assert not missing.exists() and not (tmp_path / "r.html").exists()


def test_help_shows_an_example():
    result = run_cli(["report", "--help"])
    assert "billing-connector report --html mrr.html" in result.output


def test_the_terminal_summary_and_its_json_and_csv_carry_the_converted_view(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nKWD,3.25\n")
    args = ["report", "--db", db, "--reporting-currency", "USD", "--rates", str(rates)]
    document = json.loads(run_cli([*args, "--format", "json"], env=NO_POLICY).stdout)
    reporting = document["reporting"]
    # the report's as-of day is today: the facts end on 2019-12-15, so December 2019 is the last month shown
    assert reporting["currency"] == "USD" and [c["currency"] for c in document["currencies"]] == ["USD", "KWD", "JPY"]
    for before, after in zip(reporting["months"], reporting["months"][1:]):
        moves = sum(after[k]["amount_minor"] for k in ("new", "expansion", "contraction", "churn", "reactivation", "fx"))
        assert after["mrr"]["amount_minor"] - before["mrr"]["amount_minor"] == moves == after["net_new_mrr"]["amount_minor"]
    text = run_cli(args, env=NO_POLICY).stdout
    assert "all currencies in USD: " in text and text.index("all currencies in USD") < text.index("\nUSD: ")
    csv_lines = run_cli([*args, "--format", "csv"], env=NO_POLICY).stdout.splitlines()
    assert csv_lines[0] == "currency,month,mrr,customers,new,expansion,contraction,churn,reactivation,fx,net_new_mrr,view"
    assert csv_lines[1].endswith(",reporting") and csv_lines[-1].endswith(",currency")
