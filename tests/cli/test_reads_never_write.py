"""Reads never write: every read command leaves the file it is given byte for byte as it was."""

from __future__ import annotations

import sqlite3

import pytest
import responses

from connector.errors import EXIT_OK, EXIT_STORE, EXIT_USAGE
from tests.support.fakestripe import small_account
from tests.support.cli import run_cli
from tests.support.demo import copy_store

READS = [
    ["status"],
    ["status", "--json"],
    ["mrr", "current"],
    ["mrr", "history", "--grain", "month"],
    ["mrr", "customers"],
    ["mrr", "metrics", "--format", "csv"],
    ["mrr", "current", "--policy", "stripe"],
    ["explain", "cus_000001", "--date", "2026-01-31"],
    ["report"],
    ["report", "--json"],
]


def _files(directory):
    return sorted(p.name for p in directory.iterdir())


def _foreign_db(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    conn.execute("INSERT INTO users VALUES (1, 'a@example.com')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("args", [*READS, ["report", "--html", "r.html"], ["export", "--to", "csv:out"]])
def test_a_foreign_sqlite_file_is_refused_and_unchanged(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "app.db"
    _foreign_db(db)
    before = db.read_bytes()
    result = run_cli([*args, "--db", str(db)])
    assert result.exit_code == EXIT_STORE, result.output
    assert result.stderr.strip() == (
        f"error: {db} is an SQLite file but not a billing-connector store; it was left untouched: "
        "pass the store's path with --db"
    )
    assert db.read_bytes() == before
    assert _files(tmp_path) == ["app.db"]  # no -wal, -shm, report or export folder


@pytest.mark.parametrize("args", [*READS, ["report", "--html", "r.html"]])
def test_a_zero_byte_file_is_refused_and_stays_empty(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "empty.db"
    db.touch()
    result = run_cli([*args, "--db", str(db)])
    assert result.exit_code == EXIT_STORE
    assert result.stderr.strip() == (
        f"error: {db} is an empty file, not a billing-connector store; it was left untouched: "
        "pass the store's path with --db"
    )
    assert db.stat().st_size == 0
    assert _files(tmp_path) == ["empty.db"]


@pytest.mark.parametrize(
    "args", [*READS, ["export", "--to", "csv:out"], ["backfill"], ["mrr", "rebuild"]]
)
def test_a_missing_store_is_exit_5_from_every_command_and_creates_nothing(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "none.db"
    result = run_cli([*args, "--db", str(db)])
    assert result.exit_code == EXIT_STORE
    assert result.stderr.strip() == f"error: no store at {db}: run `billing-connector sync` first or pass --db"
    assert _files(tmp_path) == []


@pytest.fixture(scope="module")
def synced(demo_store, tmp_path_factory):
    """A real store with MRR: the bundled demo account, synced through the CLI (a copy of it)."""
    return copy_store(demo_store, tmp_path_factory.mktemp("synced"), "billing.db")


def _a_paying_customer(db) -> str:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    (customer_id,) = conn.execute("SELECT customer_id FROM mrr_segments ORDER BY customer_id LIMIT 1").fetchone()
    conn.close()
    return customer_id


@pytest.mark.parametrize("args", READS)
def test_reading_a_real_store_changes_no_byte(synced, args):
    if args[0] == "explain":
        args = ["explain", _a_paying_customer(synced), "--date", "2026-01-31"]
    before = synced.read_bytes()
    result = run_cli([*args, "--db", str(synced)])
    assert result.exit_code == EXIT_OK, result.stderr
    assert synced.read_bytes() == before


def test_a_store_without_mrr_tables_is_read_without_creating_them(tmp_path):
    db = tmp_path / "raw-only.db"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        small_account(customers=3).install(rsps)
        assert run_cli(["sync", "--db", str(db), "--quiet", "--skip-mrr", "--streams", "customers"]).exit_code == 0
    before = db.read_bytes()
    result = run_cli(["mrr", "current", "--db", str(db)])
    assert result.exit_code == EXIT_USAGE
    assert result.stderr == "error: the store holds no revenue segments yet: run `billing-connector backfill` first\n"
    assert db.read_bytes() == before
    status = run_cli(["status", "--db", str(db)])
    assert status.exit_code == EXIT_OK and db.read_bytes() == before


def test_a_store_of_an_older_version_is_refused_by_reads_not_migrated(synced, tmp_path):
    old = tmp_path / "old.db"
    old.write_bytes(synced.read_bytes())
    conn = sqlite3.connect(old)
    conn.execute("DELETE FROM _migrations WHERE namespace = 'mrr' AND name = '0001_mrr_segments'")
    conn.commit()
    conn.close()
    before = old.read_bytes()
    result = run_cli(["mrr", "history", "--db", str(old)])
    assert result.exit_code == EXIT_STORE
    assert result.stderr == (
        f"error: {old} lacks this version's mrr tables (0001_mrr_segments): run `billing-connector sync` "
        "or `billing-connector backfill` once; reads never change the store\n"
    )
    assert old.read_bytes() == before


@pytest.mark.parametrize("kind", ["foreign", "empty"])
def test_doctor_names_a_file_that_is_not_a_store_and_leaves_it(tmp_path, kind):
    db = tmp_path / "x.db"
    _foreign_db(db) if kind == "foreign" else db.touch()
    before = db.read_bytes()
    result = run_cli(["doctor", "--db", str(db)])
    assert result.exit_code == 1
    what = "an SQLite file but not a billing-connector store" if kind == "foreign" else "an empty file, not a billing-connector store"
    assert "ERROR    store" in result.stdout and f"{db} is {what}" in result.stdout
    assert db.read_bytes() == before
