"""Exports survive a store restored from a backup: changes at reused sequence numbers all arrive."""

from __future__ import annotations

import json
import logging
import sqlite3

import duckdb
import pytest
from psycopg import sql

from connector.export import export
from connector.export.schema import data_tables
from connector.store import open_store

from tests.support.export_store import (
    change_store, columns_of, customer, duckdb_snapshot, files_snapshot, postgres_snapshot, store_snapshot)
from tests.support.postgres import POSTGRES_DSN


def restore_after_a_lost_history(store, tmp_path, spec):
    """Export; back up; change and export again (the history about to be lost); restore the
    backup; make other changes, reusing the lost history's sequence numbers. The restored store."""
    export(store, spec)
    backup = sqlite3.connect(tmp_path / "backup.db")
    store.db.conn.backup(backup)
    backup.close()
    seq_at_backup = store.current_seq()
    change_store(store)
    export(store, spec)
    lost_seq = store.current_seq()
    path = store.path
    store.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"store.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "backup.db").rename(path)
    restored = open_store(path)
    assert restored.current_seq() == seq_at_backup
    with restored.db.atomic():
        restored.upsert_objects("customers", [customer("cus_2", 1700000002, email="after-restore@example.com")])
    with restored.db.atomic():
        restored.upsert_objects("customers", [customer("cus_7", 1700000007)])
    with restored.db.atomic():
        restored.mark_deleted("customers", [{"id": "cus_4"}])
    # sequence numbers reused, up to the very seq the folder holds: a "seq went backwards" check alone sees nothing
    assert seq_at_backup < restored.current_seq() == lost_seq
    return restored, lost_seq


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_file_target_gets_every_change_of_a_restored_store(built_store, tmp_path, caplog, fmt):
    out = tmp_path / "out"
    restored, lost_seq = restore_after_a_lost_history(built_store, tmp_path, f"{fmt}:{out}")
    try:
        with caplog.at_level(logging.WARNING):
            result = export(restored, f"{fmt}:{out}")
        # every table re-sent in full, and the folder now holds exactly the restored store
        assert {name: table.seq_from for name, table in result.tables.items()} == {
            name: 0 for name in data_tables(restored)}
        for table in data_tables(restored):
            columns = columns_of(restored, table)
            assert files_snapshot(out, fmt, table) == store_snapshot(restored, table, columns), table
        assert [r.getMessage() for r in caplog.records] == [
            f"{fmt}:{out}: customers holds changes up to seq {lost_seq} this store never had "
            "(restored from a backup?); a new timeline starts and every table is sent in full"]
        # the next export is incremental again, on the new timeline
        assert export(restored, f"{fmt}:{out}").rows == {name: 0 for name in data_tables(restored)}
        manifest = json.loads((out / "manifest.json").read_text())
        timelines = [f["timeline"] for f in manifest["tables"]["customers"]["files"]]
        assert len(set(timelines)) == 2 and timelines[-1] == restored.meta("timeline")
    finally:
        restored.close()


class DuckDBReader:
    def __init__(self, path):
        self.path = path

    def snapshot(self, table, columns):
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return duckdb_snapshot(conn, table, columns)

    def rows(self, query):
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return conn.execute(query).fetchall()


class PostgresReader:
    def __init__(self, conn, schema):
        self.conn, self.schema = conn, schema
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))

    def snapshot(self, table, columns):
        return postgres_snapshot(self.conn, self.schema, table, columns)

    def rows(self, query):
        self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        return [tuple(row) for row in self.conn.execute(query).fetchall()]


@pytest.fixture(params=["duckdb", "postgres"])
def database_target(request, tmp_path):
    if request.param == "duckdb":
        return f"duckdb:{tmp_path / 'w.duckdb'}", DuckDBReader(tmp_path / "w.duckdb")
    schema = request.getfixturevalue("pg_schema")
    return f"{POSTGRES_DSN}?schema={schema}", PostgresReader(request.getfixturevalue("pg"), schema)


def test_a_database_target_gets_every_change_of_a_restored_store(built_store, tmp_path, caplog, database_target):
    target, reader = database_target
    restored, lost_seq = restore_after_a_lost_history(built_store, tmp_path, target)
    try:
        with caplog.at_level(logging.WARNING):
            result = export(restored, target)
        assert {name: table.seq_from for name, table in result.tables.items()} == {
            name: 0 for name in data_tables(restored)}
        assert [r.getMessage() for r in caplog.records] == [
            # a database records every table's load, the empty ones too: the first table in order speaks
            f"{result.target}: charges holds changes up to seq {lost_seq} this store never had "
            "(restored from a backup?); a new timeline starts and every table is sent in full"]
        # the target now holds exactly the restored store, every table
        for table in data_tables(restored):
            columns = columns_of(restored, table)
            assert reader.snapshot(table, columns) == store_snapshot(restored, table, columns), table
        # the lost history's customer is gone, its update and delete reverted, the new history's changes there
        assert reader.rows("SELECT id, email, _deleted FROM customers ORDER BY id") == [
            ("cus_1", "cus_1@example.com", False), ("cus_2", "after-restore@example.com", False),
            ("cus_3", "cus_3@example.com", False), ("cus_4", "cus_4@example.com", True),
            ("cus_5", "cus_5@example.com", False), ("cus_7", "cus_7@example.com", False)]
        assert reader.rows(
            "SELECT timeline, seq_to FROM _billing_connector_loads WHERE table_name = 'customers'"
        ) == [(restored.meta("timeline"), lost_seq)]
        # cus_1 and cus_3 reverted, cus_2 and cus_4 changed, cus_7 new, cus_9 removed; cus_5 left alone
        assert result.tables["customers"].rows_changed == 6
        # the next export is incremental again, on the new timeline
        assert export(restored, target).rows == {name: 0 for name in data_tables(restored)}
    finally:
        restored.close()
