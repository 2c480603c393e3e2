"""The doctor's checks one by one: versions, store health, sync age, dependency metadata."""

from __future__ import annotations

import sqlite3

import pytest

from connector.doctor import (
    STALE_SYNC_SECONDS, Check, check_dependencies, check_python, check_store, exit_code, version_satisfies,
)
from connector.store import AccountIdentity, open_store

NOW = 1_800_000_000


@pytest.mark.parametrize("installed, specifier, expected", [
    ("16.1.0", "<17,>=16", True),
    ("17.0.0", "<17,>=16", False),
    ("15.9", ">=16", False),
    ("4.2.1", ">=4,<5", True),
    ("2.31", ">=2.31", True),
    ("2.30.9", ">=2.31", False),
    ("1.0rc1", ">=1.0", True),
    ("3.1.4", "~=3.1", True),
    ("4.0", "~=3.1", False),
    ("3.3.9", "", True),
])
def test_version_satisfies(installed, specifier, expected):
    assert version_satisfies(installed, specifier) is expected


def test_old_python_is_an_error():
    assert check_python((3, 10, 12)) == [
        Check("python", "error", "Python 3.10.12", "install Python 3.11 or newer and reinstall billing-connector")
    ]
    assert check_python((3, 12, 1)) == [Check("python", "ok", "Python 3.12.1")]


class FakeMetadata:
    """importlib.metadata's three calls the check uses, over a fixed set of installed versions."""

    PackageNotFoundError = LookupError

    def __init__(self, installed):
        self.installed = installed

    def version(self, name):
        if name not in self.installed:
            raise LookupError(name)
        return self.installed[name]

    @staticmethod
    def requires(name):
        return ['stripe<17,>=16', 'click>=8.1', 'duckdb>=1.0; extra == "duckdb"', 'psycopg[binary]>=3.1; extra == "postgres"',
                'pytest>=8; extra == "test"']


def test_dependencies_missing_required_too_old_and_optional_absent():
    checks = check_dependencies(FakeMetadata({"billing-connector": "0.1.0", "stripe": "15.2.0", "duckdb": "0.9.2"}))
    assert checks == [
        Check("billing-connector", "ok", "version 0.1.0"),
        Check("package stripe", "error", "15.2.0 installed, <17,>=16 required", "pip install 'stripe<17,>=16'"),
        Check("package click", "error", "not installed", "pip install 'click>=8.1'"),
        Check("package duckdb", "warning", "0.9.2 installed, >=1.0 required", "pip install 'duckdb>=1.0'"),
        Check("package psycopg", "ok", "not installed (only the postgres export target needs it)"),
    ]


def _store(path, finished_at=None, ok="1"):
    store = open_store(path)
    store.bind_account(AccountIdentity("stripe", "acct_1", True, "2026-10-28.endive"))
    with store.db.atomic():
        if finished_at is not None:
            store.set_meta("last_sync_finished_at", str(finished_at))
        store.set_meta("last_sync_ok", ok)
    store.close()


def by_name(checks):
    return {c.name: c for c in checks}


def test_stale_and_failed_syncs_are_warnings(tmp_path):
    path = tmp_path / "b.db"
    _store(path, finished_at=NOW - STALE_SYNC_SECONDS - 3600)
    assert by_name(check_store(str(path), now=NOW))["last sync"] == Check(
        "last sync", "warning", "2027-01-13 19:00 UTC, 37.0 h ago",
        "check the cron line that runs `billing-connector sync`",
    )
    _store(path, finished_at=NOW - 7200, ok="0")
    assert by_name(check_store(str(path), now=NOW))["last sync"] == Check(
        "last sync", "warning", "2027-01-15 06:00 UTC (2.0 h ago) ended with failed streams",
        "rerun `billing-connector sync` and read its errors",
    )
    _store(path, finished_at=NOW - 3 * 86400, ok="1")
    assert by_name(check_store(str(path), now=NOW))["last sync"].detail == "2027-01-12 08:00 UTC, 3 days ago"


def test_store_check_writes_nothing(tmp_path):
    path = tmp_path / "b.db"
    _store(path, finished_at=NOW)
    before = path.read_bytes()
    checks = by_name(check_store(str(path), now=NOW))
    assert checks["last sync"] == Check("last sync", "ok", "2027-01-15 08:00 UTC, 0 min ago")
    assert checks["store integrity"].status == "ok"
    assert path.read_bytes() == before


def test_rollback_journal_and_open_permissions_are_warnings(tmp_path):
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path)   # a store's bookkeeping tables, in SQLite's default rollback journal
    conn.execute("CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("CREATE TABLE _migrations (namespace TEXT, name TEXT, applied_at TEXT)")
    conn.commit()
    conn.close()
    path.chmod(0o644)
    checks = by_name(check_store(str(path), now=NOW))
    assert checks["store journal"] == Check(
        "store journal", "warning", "journal_mode delete, not wal",
        "run `billing-connector sync` once: it switches the store to WAL",
    )
    assert checks["store permissions"] == Check(
        "store permissions", "warning", "mode 644: others can read your billing data", f"run `chmod 600 {path}`",
    )
    assert checks["last sync"] == Check("last sync", "warning", "never finished", "run `billing-connector sync`")
    assert checks["store integrity"].detail.endswith("account – (no account yet)")


def test_a_damaged_store_is_an_error(tmp_path):
    path = tmp_path / "b.db"
    _store(path, finished_at=NOW)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    # garble the second page (a table's b-tree page), keep the header intact
    data[page_size:page_size * 2] = b"\xff" * page_size
    path.write_bytes(bytes(data))
    checks = check_store(str(path), now=NOW)
    assert checks == [
        Check("store", "error", f"{path} is unreadable (database disk image is malformed)", "restore it from a backup")
    ]
    assert exit_code(checks) == 1
