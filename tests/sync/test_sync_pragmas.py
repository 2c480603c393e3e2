"""The sync reads its streams with a larger page cache, fewer WAL checkpoints and fewer cycle
collections, and puts all three back; a first sync into a new store with a rollback journal."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import connector.app.syncing as syncing
import connector.refresh as refresh
from connector.collector import YOUNG_GENERATION_THRESHOLD
from connector.demo.server import DemoServer
from connector.errors import StoreError
from connector.store import open_store
from tests.support.cli import FAST, run_cli
from tests.support.keys import CANARY_KEY
from tests.support.loopback import LoopbackServer, stripe_list

ROOT = Path(__file__).resolve().parents[2]


def _pragmas(store) -> tuple[int, int, int]:
    return (store.db.execute("PRAGMA cache_size").fetchone()[0],
            store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
            gc.get_threshold()[0])


def test_the_streams_are_read_with_the_sync_settings_and_the_refresh_runs_with_the_defaults(tmp_path, monkeypatch):
    seen = {}
    young_default = gc.get_threshold()[0]
    assert young_default < YOUNG_GENERATION_THRESHOLD
    read_streams, refresh_after_sync = syncing.run_sync, refresh.refresh_after_sync

    def reading(store, *args, **kwargs):
        seen["streams"] = _pragmas(store)
        return read_streams(store, *args, **kwargs)

    def refreshing(store, *args, **kwargs):
        seen["refresh"] = _pragmas(store)
        return refresh_after_sync(store, *args, **kwargs)

    monkeypatch.setattr(syncing, "run_sync", reading)
    monkeypatch.setattr(refresh, "refresh_after_sync", refreshing)
    with LoopbackServer(lambda request: stripe_list(request.path, [], False)) as server:
        result = run_cli(["sync", "--db", str(tmp_path / "s.db"), "--streams", "customers", "--quiet"],
                         base=server.url, fast=True)
    assert result.exit_code == 0, result.output
    assert seen["streams"] == (-syncing.SYNC_CACHE_KIB, syncing.SYNC_CHECKPOINT_PAGES, YOUNG_GENERATION_THRESHOLD)
    # SQLite's and the collector's defaults, back for the refresh (which sets its own)
    assert seen["refresh"] == (-2000, 1000, young_default)


def _journal_while_reading(monkeypatch) -> list[str]:
    """The journal mode each run of the sync read its streams in."""
    modes: list[str] = []
    read_streams = syncing.run_sync

    def reading(store, *args, **kwargs):
        modes.append(store.db.execute("PRAGMA journal_mode").fetchone()[0])
        return read_streams(store, *args, **kwargs)

    monkeypatch.setattr(syncing, "run_sync", reading)
    return modes


def _sync(path, server):
    """A sync of the demo server's account into ``path``, the streams alone (as the benchmarks time it)."""
    return run_cli(["sync", "--db", str(path), "--quiet", "--skip-mrr"], base=server.url, fast=True)


def _raw_rows(path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f'SELECT id, data, _deleted FROM "{table}" ORDER BY id, data').fetchall()
                for table in ("customers", "subscriptions", "invoices", "invoice_line_items")}
    finally:
        conn.close()


def test_a_first_sync_into_a_new_store_takes_a_rollback_journal_and_a_later_one_stays_in_wal(tmp_path, monkeypatch):
    modes = _journal_while_reading(monkeypatch)
    path = tmp_path / "s.db"
    with DemoServer(customers=8, seed=4) as server:
        assert _sync(path, server).exit_code == 0
        assert modes == ["delete"]   # nothing stored yet: the pages are written once
        store = open_store(str(path), read_only=True)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.close()
        assert not (tmp_path / "s.db-journal").exists()
        assert _raw_rows(path)["invoices"]
        # a store with rows has readers to keep their snapshot: WAL, as every sync but the first
        assert _sync(path, server).exit_code == 0
        assert modes == ["delete", "wal"]


def test_with_another_process_reading_the_new_store_its_first_sync_stays_in_wal_and_stores_the_same(
        tmp_path, monkeypatch):
    modes = _journal_while_reading(monkeypatch)
    with DemoServer(customers=8, seed=4) as server:
        alone, shared = tmp_path / "alone.db", tmp_path / "shared.db"
        assert _sync(alone, server).exit_code == 0
        open_store(str(shared)).close()   # made, then read by another connection while the sync runs
        reader = sqlite3.connect(shared)
        reader.execute("SELECT count(*) FROM customers").fetchone()
        try:
            result = _sync(shared, server)
        finally:
            reader.close()
    assert result.exit_code == 0, result.output
    assert modes == ["delete", "wal"]
    assert _raw_rows(shared) == _raw_rows(alone)


# A first sync killed mid-transaction (kill -9: no rollback, no cleanup): every batch its own
# transaction, the kill after the sixth page written, the pages of its batch not committed but, with
# a page cache of a few pages, some of them already spilled into the file (what the journal undoes).
_KILLED_FIRST_SYNC = textwrap.dedent("""
    import contextlib, os, sys
    sys.path.insert(0, {root!r})
    import connector.sync.full as full
    import connector.sync.pipeline as pipeline
    import connector.app.syncing as syncing
    from connector.cli import main

    @contextlib.contextmanager
    def few_pages(db, kib):
        db.execute("PRAGMA cache_size = 4")
        yield

    pipeline.COMMIT_EVERY_SECONDS = 0.0
    syncing.page_cache = few_pages
    written = []
    write_prepared = full.write_prepared

    def dying(*args, **kwargs):
        changed = write_prepared(*args, **kwargs)
        written.append(1)
        if len(written) == 6:
            os._exit(9)
        return changed

    full.write_prepared = dying
    main(["sync", "--db", {path!r}, "--quiet", "--skip-mrr"])
""")


def test_a_first_sync_killed_mid_transaction_is_rolled_back_by_the_next_sync_which_completes_it(tmp_path):
    clean, killed = tmp_path / "clean.db", tmp_path / "killed.db"
    with DemoServer(customers=8, seed=4) as server:
        assert _sync(clean, server).exit_code == 0
        env = {**os.environ, "STRIPE_API_KEY": CANARY_KEY, "STRIPE_API_BASE": server.url, **FAST}
        script = _KILLED_FIRST_SYNC.format(root=str(ROOT), path=str(killed))
        assert subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env).returncode == 9
        assert (tmp_path / "killed.db-journal").exists()   # pages written, not committed: a hot journal
        with pytest.raises(StoreError, match=r"was cut short .* run a writing command such as `billing-connector sync`"):
            open_store(str(killed), read_only=True)
        result = _sync(killed, server)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "killed.db-journal").exists()
    assert _raw_rows(killed) == _raw_rows(clean)
    conn = sqlite3.connect(killed)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
