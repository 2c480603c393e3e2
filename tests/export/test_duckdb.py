"""The DuckDB target, read back from the .duckdb file with duckdb itself."""

from __future__ import annotations

import duckdb
import pytest

from connector.errors import ExportError
from connector.export import export
from connector.export.duckdb_target import DuckDBTarget
from connector.export.schema import data_tables
from connector.export.watermarks import all_watermarks

from tests.support.export_store import DERIVED_TABLE, EVIL_COLUMN, change_store, columns_of, duckdb_snapshot, store_snapshot


def _assert_target_equals_store(store, path, schema="main"):
    with duckdb.connect(str(path), read_only=True) as conn:
        for table in data_tables(store):
            columns = columns_of(store, table)
            expected = store_snapshot(store, table, columns)
            actual = duckdb_snapshot(conn, table, columns, schema)
            assert (actual["count"], actual["sha256"]) == (expected["count"], expected["sha256"]), table
            assert actual["rows"] == expected["rows"], table


def test_round_trip_incremental_and_full(built_store, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    first = export(built_store, f"duckdb:{path}")
    assert first.target == f"duckdb:{path}"
    assert sum(first.rows.values()) == 16
    _assert_target_equals_store(built_store, path)
    assert set(export(built_store, f"duckdb:{path}").rows.values()) == {0}
    full = export(built_store, f"duckdb:{path}", full=True)
    assert sum(full.rows.values()) == 16 and {t.rows_changed for t in full.tables.values()} == {0}
    _assert_target_equals_store(built_store, path)

    change_store(built_store)
    changed = export(built_store, f"duckdb:{path}")
    assert {t: n for t, n in changed.rows.items() if n} == {"customers": 3, DERIVED_TABLE: 1}
    _assert_target_equals_store(built_store, path)
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("SELECT _deleted FROM customers WHERE id = 'cus_3'").fetchone() == (True,)


def test_types_new_columns_and_schema_option(built_store, tmp_path):
    path = tmp_path / "w.duckdb"
    export(built_store, f"duckdb:{path}", schema="billing")
    with built_store.db.atomic():
        built_store.db.execute(f"ALTER TABLE {DERIVED_TABLE} ADD COLUMN arr_minor INTEGER")
        built_store.db.execute(f"UPDATE {DERIVED_TABLE} SET arr_minor = mrr_minor * 12")
    result = export(built_store, f"duckdb:{path}", schema="billing")
    assert result.target == f"duckdb:{path}?schema=billing"
    assert result.rows[DERIVED_TABLE] == 3
    _assert_target_equals_store(built_store, path, "billing")
    with duckdb.connect(str(path), read_only=True) as conn:
        types = dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'billing' AND table_name = ?", [DERIVED_TABLE],
        ).fetchall())
        evil = conn.execute(f'SELECT "x""; DROP TABLE customers;--" FROM billing.{DERIVED_TABLE} '
                            "WHERE customer_id = 'cus_1'").fetchone()
    assert types == {
        "customer_id": "VARCHAR", "month_date": "DATE", "mrr_minor": "BIGINT", "currency": "VARCHAR",
        "share": "DOUBLE", "detail": "JSON", EVIL_COLUMN: "VARCHAR", "period_end": "TIMESTAMP WITH TIME ZONE",
        "_synced_at": "TIMESTAMP WITH TIME ZONE", "_deleted": "BOOLEAN", "_seq": "BIGINT", "_account_id": "VARCHAR",
        "arr_minor": "BIGINT",
    }
    assert evil == ("evil first'\"\n,",)


def test_killed_mid_way_then_rerun_equals_a_clean_export(built_store, tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    original = DuckDBTarget.load
    calls = []

    def dies_on_the_third_table(self, schema, rows, *args, **kwargs):
        calls.append(schema.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, schema, rows, *args, **kwargs)

    monkeypatch.setattr(DuckDBTarget, "load", dies_on_the_third_table)
    with pytest.raises(KeyboardInterrupt):
        export(built_store, f"duckdb:{path}")
    monkeypatch.setattr(DuckDBTarget, "load", original)
    assert sorted(all_watermarks(built_store, f"duckdb:{path}")) == sorted(calls[:2])

    export(built_store, f"duckdb:{path}")
    clean = tmp_path / "clean.duckdb"
    export(built_store, f"duckdb:{clean}")
    with duckdb.connect(str(path), read_only=True) as killed, duckdb.connect(str(clean), read_only=True) as clean_conn:
        for table in data_tables(built_store):
            columns = columns_of(built_store, table)
            assert duckdb_snapshot(killed, table, columns) == duckdb_snapshot(clean_conn, table, columns)
    _assert_target_equals_store(built_store, path)


def test_a_file_held_by_another_process_is_a_one_line_error(built_store, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "ready\n"
        with pytest.raises(ExportError) as caught:
            export(built_store, f"duckdb:{path}")
    finally:
        holder.stdin.close()
        holder.wait()
    message = str(caught.value)
    assert message.startswith(f"cannot open duckdb:{path}: IO Error: Could not set lock on file") and "\n" not in message
    assert caught.value.exit_code == 7
    assert all_watermarks(built_store, f"duckdb:{path}") == {}
