"""One output contract: every command's JSON validates against connector/schemas/output.json,
money has one shape everywhere, CSV is one table, and --json with another --format is refused."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from tests.support.cli import run_cli
from tests.support.demo import copy_store

SCHEMA = json.loads(resources.files("connector").joinpath("schemas/output.json").read_text())
MONEY = jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/money"})


def validate(name: str, document) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{name}"})
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"
    _money_has_one_shape(document, name)


def _money_has_one_shape(value, where: str) -> None:
    """Any object carrying minor units is a money object; no bare `*_minor` field anywhere."""
    if isinstance(value, dict):
        if "amount_minor" in value:
            MONEY.validate(value)
            return
        for key, item in value.items():
            if key in ("raw", "source", "detail"):   # the provider's own object, as it sent it
                continue
            assert not key.endswith("_minor"), f"{where}: bare minor units in {key!r}"
            _money_has_one_shape(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _money_has_one_shape(item, where)




def _json(args, *, expect=0, env=None):
    result = run_cli([*args, "--format", "json"], env=env)
    assert result.exit_code == expect, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo(demo_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("contract")
    copy_store(demo_store, folder)
    (folder / "rates.csv").write_text("currency,rate\nUSD,0.9\nEUR,1\nJPY,0.006\n")
    return folder


def _customer(folder):
    rows = _json(["mrr", "customers", "--db", str(folder / "demo.db")])["rows"]
    return next(row["customer_id"] for row in rows if row["mrr"]["amount_minor"] > 0)


@pytest.mark.parametrize("name, args", [
    ("status", ["status"]),
    ("mrr_current", ["mrr", "current"]),
    ("mrr_current", ["mrr", "current", "--rates", "rates.csv", "--reporting-currency", "EUR"]),
    ("mrr_history", ["mrr", "history", "--grain", "month"]),
    ("mrr_history", ["mrr", "history", "--grain", "day", "--since", "2026-01-01"]),
    ("mrr_customers", ["mrr", "customers"]),
    ("mrr_metrics", ["mrr", "metrics"]),
    ("mrr_metrics", ["mrr", "metrics", "--policy", "chartmogul"]),
    ("report", ["report"]),
    ("explain", ["explain", "CUSTOMER"]),
    ("export", ["export", "--to", "jsonl:out"]),
])
def test_every_read_validates_against_the_schema(demo, monkeypatch, name, args):
    monkeypatch.chdir(demo)
    args = [_customer(demo) if a == "CUSTOMER" else a for a in args]
    document = _json([*args, "--db", str(demo / "demo.db")])
    validate(name, document)
    assert document["partial"] is False and document["warning"] is None


def test_demo_json_validates_and_agrees_with_the_store(demo_store, monkeypatch):
    built = demo_store.parent   # where the demo command wrote its store, report and JSON (tests/conftest.py)
    document = json.loads((built / "demo.json").read_text())
    validate("demo", document)
    assert document["sync"]["ok"] is True and document["sync"]["exit_code"] == 0
    assert document["html_report"] == str(built / "r.html") and (built / "r.html").is_file()
    monkeypatch.chdir(built)
    assert document["mrr"]["currencies"] == _json(["report", "--db", "demo.db"])["currencies"]


def test_demo_csv_is_the_report_table(tmp_path):
    result = run_cli(["demo", "--customers", "5", "--db", str(tmp_path / "d.db"), "--report", str(tmp_path / "r.html"),
                   "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("currency,month,")
    assert sum(line.startswith("currency,") for line in lines) == 1 and len(lines) > 12


def test_sync_auth_and_doctor_validate(fake, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    validate("sync", _json(["sync", "--db", "b.db", "--streams", "customers,subscriptions,invoices"]))
    validate("auth", _json(["auth"]))
    doctor = run_cli(["doctor", "--db", "b.db", "--json"])   # exits 1 or 0 by its findings; JSON either way
    validate("doctor", json.loads(doctor.stdout))


def test_the_money_shape(demo, monkeypatch):
    monkeypatch.chdir(demo)
    rows = _json(["mrr", "current", "--db", "demo.db"])["rows"]
    usd = next(row for row in rows if row["currency"] == "USD")
    amount = usd["mrr"]
    assert set(amount) == {"amount", "amount_minor", "currency"} and amount["currency"] == "USD"
    assert amount["amount"] == f"{amount['amount_minor'] // 100}.{amount['amount_minor'] % 100:02d}"
    jpy = next((row for row in rows if row["currency"] == "JPY"), None)
    if jpy is not None:
        assert jpy["mrr"]["amount"] == str(jpy["mrr"]["amount_minor"])   # no minor unit in yen


@pytest.mark.parametrize("args", [
    ["status"], ["auth"], ["doctor"], ["sync"], ["mrr", "current"], ["mrr", "history"], ["mrr", "customers"],
    ["mrr", "metrics"], ["explain", "cus_x"], ["report"], ["export", "--to", "csv:out"], ["demo"],
])
def test_json_with_another_format_is_a_usage_error(args, tmp_path):
    result = run_cli([*args, "--json", "--format", "csv", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "--json and --format csv contradict each other: pass one of them" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_explain_csv_is_one_table_and_section_picks_it(demo, monkeypatch):
    monkeypatch.chdir(demo)
    customer = _customer(demo)
    segments = run_cli(["explain", customer, "--format", "csv", "--db", "demo.db"]).stdout.splitlines()
    assert segments[0].startswith("source_type,source_id,subscription_id,currency,start_date,end_date,amount,")
    assert sum(line.startswith("source_type,") for line in segments) == 1 and "" not in segments
    movements = run_cli(["explain", customer, "--format", "csv", "--section", "movements", "--db", "demo.db"])
    assert movements.stdout.splitlines()[0] == "day,currency,movement,amount,mrr_after,cause,sources"
    only = _json(["explain", customer, "--section", "movements", "--db", "demo.db"])
    assert set(only) == {"customer_id", "date", "policy", "partial", "warning", "movements"}


@pytest.mark.parametrize("output_format", ["table", "csv"])
def test_currency_codes_are_upper_case_in_tables_and_csv_as_in_json(demo, monkeypatch, output_format):
    monkeypatch.chdir(demo)
    args = ["mrr", "history", "--since", "2026-10", "--rates", "rates.csv", "--reporting-currency", "EUR",
            "--db", "demo.db", "--format", output_format]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    cells = {cell for line in result.stdout.splitlines() for cell in line.replace(",", " ").split()}
    assert {"USD", "EUR"} <= cells
    assert not cells & {"usd", "eur", "jpy"}
