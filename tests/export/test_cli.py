"""`billing-connector export`: every flag once, exit codes, where output goes, no secrets."""

from __future__ import annotations

import json

import pytest


from tests.support.postgres import POSTGRES_DSN
from tests.support.export_store import DERIVED_TABLE, build_store
from tests.support.cli import run_cli

SECRET = "Pa55w0rd-never-shown"


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "store.db"
    build_store(path).close()
    return path


def test_rows_per_table_on_stdout_summary_on_stderr(store_path, tmp_path, canary_env):
    result = run_cli(["export", "--to", f"duckdb:{tmp_path}/w.duckdb", "--db", str(store_path), "--tables", "customers,coupons"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "customers         5\ncoupons           1\n"
    assert result.stderr == f"exported 6 rows in 2 tables to duckdb:{tmp_path}/w.duckdb (store seq 6)\n"
    again = run_cli(["export", "--to", f"duckdb:{tmp_path}/w.duckdb", "--db", str(store_path), "--tables", "customers,coupons"])
    assert again.stdout == "customers         0\ncoupons           0\n"
    assert canary_env not in result.output + again.output


def test_json_and_csv_output_and_full(store_path, tmp_path):
    target = f"jsonl:{tmp_path}/out"
    first = run_cli(["export", "--to", target, "--db", str(store_path), "--tables", DERIVED_TABLE, "--format", "json"])
    body = json.loads(first.stdout)
    assert body["target"] == f"jsonl:{tmp_path}/out" and body["seq"] == 6
    assert [(t["table"], t["rows_sent"], t["seq_from"], t["seq_to"]) for t in body["tables"]] == [(DERIVED_TABLE, 3, 0, 6)]
    assert body["tables"][0]["files"][0].startswith(f"{tmp_path}/out/{DERIVED_TABLE}/")
    full = run_cli(["export", "--to", target, "--db", str(store_path), "--tables", DERIVED_TABLE, "--full", "--format", "csv"])
    assert full.stdout == f"table,rows_sent,rows_changed,seq_from,seq_to\n{DERIVED_TABLE},3,,0,6\n"


def test_schema_option_and_config_file(store_path, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'db = "{store_path}"\n')
    result = run_cli(["export", "--to", f"duckdb:{tmp_path}/w.duckdb", "--schema", "billing", "--config", str(config), "--tables", "coupons"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.endswith(f"to duckdb:{tmp_path}/w.duckdb?schema=billing (store seq 6)\n")


def test_failure_is_one_line_exit_7_without_the_password(store_path):
    dsn = POSTGRES_DSN.replace("postgres@", f"no_such_role_bc:{SECRET}@")
    result = run_cli(["export", "--to", dsn, "--db", str(store_path)])
    assert result.exit_code == 7
    assert result.stdout == ""
    assert result.stderr.startswith("error: cannot connect to postgresql://no_such_role_bc@127.0.0.1:5432/test?schema=billing: ")
    assert result.stderr.count("\n") == 1 and SECRET not in result.stderr


def test_bad_flags(store_path, tmp_path):
    missing = run_cli(["export", "--db", str(store_path)])
    assert missing.exit_code == 2 and "Missing option '--to'" in missing.stderr
    unknown = run_cli(["export", "--to", "csv:" + str(tmp_path), "--db", str(store_path), "--tables", "nope"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: no such data table in the store: nope;")
    no_store = run_cli(["export", "--to", "csv:" + str(tmp_path), "--db", str(tmp_path / "absent.db")])
    assert no_store.exit_code == 5 and not (tmp_path / "absent.db").exists()


def test_help_has_an_example():
    result = run_cli(["export", "--help"])
    assert result.exit_code == 0
    assert "billing-connector export --to duckdb:billing.duckdb --tables customers,subscriptions" in result.output
    for flag in ("--to", "--tables", "--full", "--schema", "--db", "--config", "--format"):
        assert flag in result.output
