"""The writer lock is taken only for a file that is a store, or is about to become one.

A path refused as not a store (not SQLite, another application's SQLite file, a
corrupted first page, a newer version's store) gets no ``.lock`` file beside it:
the refusal comes from a read-only look before the lock. A missing store is
created under the lock, so of two first syncs racing for it the second stops at
the lock (exit 9) and creates nothing.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from connector.errors import StoreError, StoreLocked
from connector.store import open_store
from connector.store.migrations import STORE_SCHEMA_VERSION
from tests.support.cli import run_cli
from tests.support.loopback import LoopbackServer, stripe_list

REPO = Path(__file__).resolve().parents[1]


def _not_sqlite(path: Path) -> str:
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    return (f"{path} is not a billing-connector store (not an SQLite file); it was left untouched: "
            "restore it from a backup or pass another --db")


def _foreign(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    return f"{path} is an SQLite file but not a billing-connector store; it was left untouched: pass the store's path with --db"


def _store_then(path: Path, change) -> None:
    store = open_store(path)
    store.close()
    path.with_name(path.name + ".lock").unlink()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    change(path)


def _newer(path: Path) -> str:
    def mark(p: Path) -> None:
        conn = sqlite3.connect(p)
        conn.execute("PRAGMA journal_mode = DELETE")  # a single file: a byte-for-byte comparison says it all
        conn.execute("UPDATE _meta SET value = '999' WHERE key = 'schema_version'")
        conn.commit()
        conn.close()

    _store_then(path, mark)
    return (f"{path} was written by a newer billing-connector (store schema 999, this version writes "
            f"{STORE_SCHEMA_VERSION}): "
            "upgrade billing-connector; nothing was written")


def _corrupted_first_page(path: Path) -> str:
    def scramble(p: Path) -> None:
        data = bytearray(p.read_bytes())
        data[16:4096] = b"\xff" * (4096 - 16)  # the header's magic kept, the rest of page 1 garbage
        p.write_bytes(bytes(data))

    _store_then(path, scramble)
    return f"{path} is corrupted or not a store (file is not a database); restore it from a backup or pass another --db"


@pytest.mark.parametrize("make", [_not_sqlite, _foreign, _newer, _corrupted_first_page])
def test_a_refused_file_gets_no_lock_file_and_no_change(tmp_path, make):
    path = tmp_path / "b.db"
    message = make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError) as refused:
        open_store(path)
    assert str(refused.value) == message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db"]


def test_a_store_gets_its_lock_file_and_keeps_it(tmp_path):
    path = tmp_path / "b.db"
    store = open_store(path)
    try:
        with pytest.raises(StoreLocked):
            _open_in_another_process(path)
    finally:
        store.close()
    # the file stays after the lock is released (store/lock.py says why); the next open reuses it
    assert (tmp_path / "b.db.lock").exists()
    open_store(path).close()


def _open_in_another_process(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from connector.store import open_store; open_store(sys.argv[1])", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    if "StoreLocked" in result.stderr:
        raise StoreLocked(result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0, result.stderr


def test_the_second_of_two_first_syncs_stops_at_the_lock_and_creates_nothing(tmp_path):
    """The first sync holds the lock of a store not yet created (it is about to create it); the
    second, which also found no file, stops with exit 9 and leaves no store file behind."""
    db = tmp_path / "b.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from connector.store.lock import acquire; "
         "acquire(Path(sys.argv[1])); print('held', flush=True); sys.stdin.read()", str(db)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with LoopbackServer(lambda request: stripe_list(request.path, [], False)) as server:
            second = run_cli(["sync", "--db", str(db), "--streams", "customers", "--skip-mrr"], base=server.url, fast=True)
    finally:
        holder.communicate("", timeout=30)
    assert second.exit_code == 9
    assert second.stderr == (
        f"error: another process (pid {holder.pid}) holds {db}: a sync or another writing command is running; "
        "wait for it to finish and run again\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db.lock"]
