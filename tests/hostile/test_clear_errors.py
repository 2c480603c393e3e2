"""Issue 14, clear errors: a one-line message and a documented exit code, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import connector.refresh as engine
from connector.errors import StoreError
from connector.store import open_store
from connector.store.migrations import STORE_SCHEMA_VERSION
from tests.support.damage import damage_the_last_pages
from tests.support.keys import CANARY_KEY
from tests.support.cli import FAST, run_cli
from tests.support.loopback import LoopbackServer, stripe_list

REPO = Path(__file__).resolve().parents[2]


def empty_lists(request):
    return stripe_list(request.path, [], False)


def test_a_second_sync_stops_with_exit_9_naming_the_holder(tmp_path):
    db = tmp_path / "b.db"
    first_list_asked = threading.Event()
    release = threading.Event()

    def answer(request):
        if request.path == "/v1/customers" and not release.is_set():
            first_list_asked.set()  # the first sync holds the store while it waits here
            release.wait(60)
        return stripe_list(request.path, [], False)

    with LoopbackServer(answer) as server:
        env = {**os.environ, **FAST, "BILLING_CONNECTOR_TIMEOUT_SECONDS": "90",
               "STRIPE_API_KEY": CANARY_KEY, "STRIPE_API_BASE": server.url}
        first = subprocess.Popen(
            [sys.executable, "-m", "connector", "sync", "--db", str(db), "--streams", "customers", "--skip-mrr", "--quiet"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert first_list_asked.wait(60), first.stderr.read() if first.poll() is not None else "no request"
            second = run_cli(
                ["sync", "--db", str(db), "--streams", "customers", "--skip-mrr"],
                base=server.url, fast=True,
            )
        finally:
            release.set()
            out, err = first.communicate(timeout=60)
    assert second.exit_code == 9
    assert second.stderr == (
        f"error: another process (pid {first.pid}) holds {db}: a sync or another writing command is running; "
        "wait for it to finish and run again\n"
    )
    assert first.returncode == 0, err


def test_a_status_during_a_sync_still_reads(tmp_path):
    db = tmp_path / "b.db"
    with LoopbackServer(empty_lists) as server:
        assert run_cli(
            ["sync", "--db", str(db), "--streams", "customers", "--skip-mrr", "--quiet"],
            base=server.url, fast=True,
        ).exit_code == 0
    holder = open_store(db)  # a writer holds the lock in this process ...
    try:
        result = run_cli(["status", "--db", str(db)], base=None, fast=True)  # ... a read never takes it
    finally:
        holder.close()
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("command", [["status"], ["sync", "--streams", "customers"]])
def test_dev_null_is_refused_as_a_store(command):
    with LoopbackServer(empty_lists) as server:
        result = run_cli([*command, "--db", "/dev/null"], base=server.url, fast=True)
    assert result.exit_code == 5
    assert result.stderr == "error: /dev/null is a device, not a store file; pass a regular file path with --db\n"


@pytest.mark.parametrize("command", [["status"], ["sync", "--streams", "customers"]])
def test_a_named_pipe_is_refused_without_hanging(tmp_path, command):
    pipe = tmp_path / "pipe.db"
    os.mkfifo(pipe)
    with LoopbackServer(empty_lists) as server:
        result = run_cli([*command, "--db", str(pipe)], base=server.url, fast=True)
    assert result.exit_code == 5
    assert result.stderr == f"error: {pipe} is a named pipe, not a store file; pass a regular file path with --db\n"


@pytest.mark.parametrize(
    "value, message",
    [
        ("nan", "nan must be a finite number (not nan or infinity)"),
        ("inf", "inf must be a finite number (not nan or infinity)"),
        ("-5", "-5.0 must be greater than 0"),
        ("0", "0.0 must be greater than 0"),
    ],
)
def test_a_request_rate_that_is_not_a_positive_number_is_a_usage_error(tmp_path, value, message):
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--max-requests-per-second", value], base=None, fast=True)
    assert result.exit_code == 2
    assert result.stderr == f"error: --max-requests-per-second: {message}\n"
    assert not (tmp_path / "b.db").exists()


def test_an_import_amount_too_large_to_store_is_a_usage_error(tmp_path):
    csv = tmp_path / "periods.csv"
    csv.write_text("subscription_id,customer_id,start_date,end_date,monthly_amount\nsub_1,cus_1,2024-01-01,,1e30\n")
    result = run_cli(
        ["import", "subscription-periods", str(csv), "--currency", "EUR", "--db", str(tmp_path / "b.db")],
        base=None, fast=True,
    )
    assert result.exit_code == 2
    assert "line 2: monthly_amount 1e30 is out of range" in result.stderr
    assert "Traceback" not in result.stderr


def test_disk_full_during_the_mrr_refresh_is_said_as_such(tmp_path, monkeypatch):
    db = tmp_path / "b.db"
    real_refresh = engine.refresh_after_sync

    def refresh_on_a_full_disk(store, policy, **kwargs):
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL from here on
        return real_refresh(store, policy, **kwargs)

    monkeypatch.setattr(engine, "refresh_after_sync", refresh_on_a_full_disk)
    customers = [{"id": f"cus_{n}", "object": "customer", "created": 1_700_000_000 - n} for n in range(5)]

    def answer(request):
        return stripe_list(request.path, customers if request.path == "/v1/customers" else [], False)

    with LoopbackServer(answer) as server:
        result = run_cli(["sync", "--db", str(db), "--quiet"], base=server.url, fast=True)
    assert result.exit_code == 5
    assert result.stderr == (
        f"error: the disk is full: {db} could not be written (nothing after its last committed change was "
        "written); free some space and run again\n"
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (5,)


def test_a_store_written_by_a_newer_version_is_not_written(tmp_path):
    db = tmp_path / "b.db"
    store = open_store(db)
    with store.db.atomic():
        store.set_meta("schema_version", "999")
    store.close()
    before = db.read_bytes()
    with LoopbackServer(empty_lists) as server:
        result = run_cli(["sync", "--db", str(db), "--quiet"], base=server.url, fast=True)
        assert server.paths() == ["/v1/account"]
    assert result.exit_code == 5
    assert result.stderr == (
        f"error: {db} was written by a newer billing-connector (store schema 999, this version writes {STORE_SCHEMA_VERSION}): "
        "upgrade billing-connector; nothing was written\n"
    )
    assert db.read_bytes() == before


def test_a_read_only_store_is_reported_as_read_only_not_corrupted(tmp_path):
    db = tmp_path / "b.db"
    with LoopbackServer(empty_lists) as server:
        assert run_cli(
            ["sync", "--db", str(db), "--streams", "customers", "--skip-mrr", "--quiet"],
            base=server.url, fast=True,
        ).exit_code == 0
        # root writes any file whatever its mode: the immutable flag stops root too
        protect = ["chattr", "+i", str(db)] if os.geteuid() == 0 else None
        if protect:
            subprocess.run(protect, check=True)
        else:
            os.chmod(db, 0o444)
        try:
            result = run_cli(
                ["sync", "--db", str(db), "--streams", "customers", "--skip-mrr", "--quiet"],
                base=server.url, fast=True,
            )
        finally:
            if protect:
                subprocess.run(["chattr", "-i", str(db)], check=True)
    assert result.exit_code == 5
    assert result.stderr == (
        f"error: {db} is read-only: this command writes to it; give it (and its folder, for the -wal and -shm "
        "files) write access, or run a read-only command such as `status`\n"
    )


def test_a_read_meets_a_damaged_page_as_corrupted_and_a_write_refuses_the_file(tmp_path):
    """A read-only command opens without reading the whole file (the quick check is the writing open's):
    a damaged page it meets is the same one-line error, exit 5; a writing command refuses the file."""
    db = tmp_path / "d.db"
    with LoopbackServer(empty_lists) as server:
        assert run_cli(["sync", "--db", str(db), "--streams", "customers", "--skip-mrr", "--quiet"],
                       base=server.url, fast=True).exit_code == 0
    store = open_store(db)
    with store.db.atomic():
        store.upsert_objects("customers", [
            {"id": f"cus_{n:05d}", "object": "customer", "created": 1700000000, "livemode": False,
             "email": f"{n}@example.com"} for n in range(3000)
        ])
    store.close()
    damage_the_last_pages(db, 0.3)
    before = db.read_bytes()

    opened_for_reading = open_store(db, read_only=True)   # no whole-file check: the damage is not met yet
    opened_for_reading.close()
    status = run_cli(["status", "--db", str(db)], base=None, fast=True)
    assert status.exit_code == 5
    assert status.stderr.startswith(f"error: {db} is corrupted or not a store (")
    assert status.stderr.endswith("restore it from a backup or pass another --db\n")
    assert status.stderr.count("\n") == 1

    with pytest.raises(StoreError, match="restore it from a backup"):  # the writing open's quick check
        open_store(db)
    assert db.read_bytes() == before
