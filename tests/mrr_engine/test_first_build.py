"""A first MRR build is a bulk load (store/bulk.py): plain inserts with the policy stamp written
into the statement, and the pages written once with a rollback journal instead of twice through
the WAL. It must leave exactly the rows the change-only path leaves, return the file to WAL, fall
back to WAL when another process has the file open, and leave the store as before when killed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from connector import refresh
from connector.errors import StoreError
from connector.mrr import engine, fact_writes
from connector.mrr.policy import load_policy
from connector.mrr.facts import CUSTOMER_FACTS, CUSTOMER_TABLES, METRICS_TABLE, ROW_COLUMNS, STAMP_COLUMNS, PolicyStamp
from connector.store import open_store
from connector.store.bulk import insert_rows, insert_sql, rows_per_insert, sql_literal

from tests.support.demo import copy_store
from tests.support.segments import FakePolicy, stored_segments, write

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2023, 9, 30)
PERIODS = {
    "c1": [(0, 40, 1000, "usd"), (70, None, 2500, "usd")],
    "c2": [(10, 200, 900, "eur"), (15, None, 300, "usd")],
    "c3": [(0, 30, 5000, "usd"), (45, 60, 4000, "usd"), (120, None, 100, "usd")],
    "c|4": [(5, None, 700, "usd")],
}


# Enough customers for a load that outgrows a tiny page cache (the kill test needs pages on disk).
MANY = {f"m{n:03d}": [(n % 50, 30 + n % 40, 500 + 10 * n, "usd"), (100 + n % 30, None, 900 + n, "usd")]
        for n in range(150)}


def _with_segments(path, periods=PERIODS):
    store = open_store(None if path is None else str(path))
    for customer_id, customer_periods in periods.items():
        write(store, customer_id, customer_periods)
    return store


def _rows(store) -> dict[str, list[tuple]]:
    """Every row of the fact tables but its _synced_at (the clock's)."""
    result = {}
    for table in (*CUSTOMER_TABLES, METRICS_TABLE):
        cursor = store.db.execute(f"SELECT * FROM {table} ORDER BY id")
        names = [d[0] for d in cursor.description]
        result[table] = [tuple(v for k, v in zip(names, row) if k != "_synced_at") for row in cursor]
    return result


def _record_journal_modes(monkeypatch) -> list[str]:
    modes: list[str] = []
    original = fact_writes.write_customers

    def recording(target, *args, **kwargs):
        modes.append(target.db.execute("PRAGMA journal_mode").fetchone()[0])
        return original(target, *args, **kwargs)

    monkeypatch.setattr(engine, "write_customers", recording)
    return modes


def test_a_row_tuple_holds_every_column_but_the_policy_stamp_declared_last():
    for table in CUSTOMER_FACTS:
        assert (*ROW_COLUMNS[table.name], *STAMP_COLUMNS) == table.column_names


def test_constants_become_sql_literals_and_nothing_else_does():
    assert [sql_literal(v) for v in (None, 0, -12, "it's", "")] == ["NULL", "0", "-12", "'it''s'", "''"]
    for value in (1.5, True, b"x", "a\0b"):
        with pytest.raises(ValueError, match="no SQL literal"):
            sql_literal(value)
    assert insert_sql("t", ("a", "b"), {"p": "x'y", "_seq": 3}) == (
        'INSERT INTO "t" ("a", "b", "p", "_seq") VALUES (?, ?, \'x\'\'y\', 3)')


def test_rows_go_in_order_several_per_statement_within_sqlites_variable_limit():
    assert rows_per_insert(("a", "b", "c")) == 64 and rows_per_insert(tuple("x" * 100 for _ in range(400))) == 2
    assert rows_per_insert(tuple(str(n) for n in range(2000))) == 1
    assert insert_sql("t", ("a",), {"k": 1}, rows=3) == 'INSERT INTO "t" ("a", "k") VALUES (?, 1), (?, 1), (?, 1)'
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (n INTEGER, label TEXT, k TEXT)")
    rows = [(n, f"row {n}") for n in range(64 * 2 + 5)]
    insert_rows(conn, "t", ("n", "label"), rows, {"k": "it's"})
    assert conn.execute("SELECT n, label, k FROM t ORDER BY rowid").fetchall() == [(*row, "it's") for row in rows]


@pytest.mark.parametrize("name", ["default", "o'brien \"quoted\" ; DROP TABLE x; --", "café ✓"])
def test_plain_inserts_leave_the_rows_the_change_only_upsert_leaves(name):
    policy = FakePolicy(name=name)
    source = _with_segments(None, {**PERIODS, **MANY})   # hundreds of rows a table: whole and partial INSERTs
    ledgers = engine.compute_ledgers(stored_segments(source, policy, None), engine.Rules.of(policy), AS_OF)
    stamp = PolicyStamp(name, "fp'1")
    written = {}
    for fresh in (True, False):
        target = open_store(None)
        engine.ensure_tables(target)
        with target.db.atomic():
            count = fact_writes.write_customers(target, sorted({**PERIODS, **MANY}), ledgers, stamp, fresh=fresh)
        written[fresh] = (count, _rows(target))
        target.close()
    assert written[True] == written[False]
    count, rows = written[True]
    assert count == sum(len(rows[table]) for table in CUSTOMER_TABLES)
    assert all(len(rows[table]) > rows_per_insert(ROW_COLUMNS[table]) for table in CUSTOMER_TABLES)
    policy_at = {table.name: table.column_names.index("policy") for table in CUSTOMER_FACTS}
    assert {row[policy_at[table]:policy_at[table] + 2] for table in CUSTOMER_TABLES for row in rows[table]} == {
        (name, "fp'1")}


def _live(store) -> dict[str, list[tuple]]:
    """The live rows of the fact tables, without their clock and sequence columns."""
    result = {}
    for table in (*CUSTOMER_TABLES, METRICS_TABLE):
        cursor = store.db.execute(f"SELECT * FROM {table} WHERE _deleted = 0 ORDER BY id")
        names = [d[0] for d in cursor.description]
        result[table] = [tuple(v for k, v in zip(names, row) if k not in ("_synced_at", "_seq")) for row in cursor]
    return result


def test_facts_all_soft_deleted_are_no_first_build_and_a_recompute_revives_them(tmp_path):
    store = _with_segments(tmp_path / "store.db")
    engine.rebuild(store, FakePolicy(), as_of=AS_OF, segment_source=stored_segments)
    for customer_id in PERIODS:   # every customer gone: every fact row soft-deleted, none removed
        write(store, customer_id, [])
    engine.update(store, FakePolicy(), set(PERIODS), as_of=AS_OF, segment_source=stored_segments)
    assert all(rows == [] for rows in _live(store).values())
    assert not engine.facts_empty(store)   # their keys are still there: plain inserts would collide
    for customer_id, periods in PERIODS.items():
        write(store, customer_id, periods)
    policy = FakePolicy(reactivation_min_gap_days=20)   # another policy: a full recompute
    assert engine.rebuild(store, policy, as_of=AS_OF, segment_source=stored_segments).full
    clean = _with_segments(None)
    engine.rebuild(clean, policy, as_of=AS_OF, segment_source=stored_segments)
    assert _live(store) == _live(clean) and _live(store)["mrr_customer_months"]
    store.close()
    clean.close()


def test_a_first_build_into_a_file_takes_a_rollback_journal_then_returns_to_wal(tmp_path, monkeypatch):
    modes = _record_journal_modes(monkeypatch)
    store = _with_segments(tmp_path / "store.db")
    stats = engine.rebuild(store, FakePolicy(), as_of=AS_OF, segment_source=stored_segments)
    assert stats.full and stats.rows_written > 0
    assert set(modes) == {"delete"}
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1   # NORMAL again, as open_store sets it
    assert not (tmp_path / "store.db-journal").exists()
    # a later full recompute is no first build: it stays in WAL (readers keep their snapshot)
    modes.clear()
    engine.rebuild(store, FakePolicy(reactivation_min_gap_days=20), as_of=AS_OF, segment_source=stored_segments)
    assert set(modes) == {"wal"}
    store.close()


def test_with_another_connection_on_the_file_the_first_build_stays_in_wal_and_gives_the_same_rows(
        tmp_path, monkeypatch):
    modes = _record_journal_modes(monkeypatch)
    alone = _with_segments(tmp_path / "alone.db")
    engine.rebuild(alone, FakePolicy(), as_of=AS_OF, segment_source=stored_segments)
    shared = _with_segments(tmp_path / "shared.db")
    reader = sqlite3.connect(tmp_path / "shared.db")
    reader.execute("SELECT count(*) FROM mrr_segments").fetchone()   # another process reading the store
    modes.clear()
    engine.rebuild(shared, FakePolicy(), as_of=AS_OF, segment_source=stored_segments)
    assert set(modes) == {"wal"}
    assert shared.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert _rows(shared) == _rows(alone)
    reader.close()
    shared.close()
    alone.close()


def test_the_refresh_after_a_first_sync_takes_the_bulk_path(demo_store, tmp_path, monkeypatch):
    path = copy_store(demo_store, tmp_path)
    conn = sqlite3.connect(path)
    with conn:   # the facts as before their first computation; raw, neutral rows and segments kept
        for table in (*CUSTOMER_TABLES, METRICS_TABLE):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM _meta WHERE key LIKE 'mrr_%'")
    conn.close()
    modes = _record_journal_modes(monkeypatch)
    store = open_store(str(path))
    result = refresh.refresh(store, load_policy("default"), as_of=AS_OF)
    assert result["full"] and result["customers"] > 1
    assert set(modes) == {"delete"}
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


_KILLED_MID_LOAD = textwrap.dedent("""
    import os, sys
    from datetime import date
    sys.path.insert(0, {root!r})
    from connector.mrr import engine, fact_writes
    from connector.store import open_store
    from tests.support.segments import FakePolicy, stored_segments

    calls = []
    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:   # two batches written, the third not
            os._exit(9)   # a kill -9 mid-load: no rollback, no cleanup
        return fact_writes.write_customers(*args, **kwargs)

    engine.write_customers = dying
    engine.BATCH_CUSTOMERS = 50
    engine.REBUILD_CACHE_KIB = 16   # a few pages: the load spills to the file before the kill
    store = open_store({path!r})
    store.db.execute("PRAGMA cache_size = 4")
    engine.rebuild(store, FakePolicy(), as_of=date.fromisoformat({as_of!r}), segment_source=stored_segments)
""")


def test_a_kill_mid_load_leaves_the_store_as_before_and_the_next_build_completes(tmp_path):
    clean = _with_segments(tmp_path / "clean.db", MANY)
    engine.rebuild(clean, FakePolicy(), as_of=AS_OF, segment_source=stored_segments)
    path = tmp_path / "killed.db"
    _with_segments(path, MANY).close()
    script = _KILLED_MID_LOAD.format(root=str(ROOT), path=str(path), as_of=AS_OF.isoformat())
    assert subprocess.run([sys.executable, "-c", script], cwd=tmp_path).returncode == 9
    assert (tmp_path / "killed.db-journal").exists()   # the load had written pages: a hot journal
    with pytest.raises(StoreError, match=r"was cut short .* run a writing command such as `billing-connector sync`"):
        open_store(str(path), read_only=True)
    store = open_store(str(path))   # a writable open rolls the journal back and returns the file to WAL
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert all(rows == [] for rows in _rows(store).values())
    assert store.meta("mrr_policy") is None
    engine.rebuild(store, FakePolicy(), as_of=AS_OF, segment_source=stored_segments)
    assert _rows(store) == _rows(clean)
    store.close()
    clean.close()
