"""Property: whatever the changes and however often one exports, the target equals the store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.export import export

from tests.support.export_store import DERIVED_TABLE, build_store, columns_of, customer, duckdb_snapshot, fact, files_snapshot, store_snapshot

TABLES = ["customers", DERIVED_TABLE]
CUSTOMERS = [f"cus_{i}" for i in range(1, 8)]

upsert = st.tuples(st.just("upsert"), st.sampled_from(CUSTOMERS), st.sampled_from(["a", "b", "c"]))
delete = st.tuples(st.just("delete"), st.sampled_from(CUSTOMERS), st.just(""))
facts = st.tuples(st.just("facts"), st.sampled_from(CUSTOMERS), st.sampled_from(["", "2023-11-30", "2023-12-31"]))
export_step = st.tuples(st.just("export"), st.sampled_from(["incremental", "full"]), st.just(""))
steps = st.lists(st.one_of(upsert, delete, facts, export_step), min_size=1, max_size=12)


def _apply(store, step) -> None:
    kind, cus, arg = step
    with store.db.atomic():
        if kind == "upsert":
            store.upsert_objects("customers", [customer(cus, 1700000000, email=f"{arg}@example.com")])
        elif kind == "delete":
            store.mark_deleted("customers", [{"id": cus}])
        elif kind == "facts":
            rows = [fact(cus, arg, 1000 + len(arg), arg)] if arg else []
            store.replace_scope(DERIVED_TABLE, ("customer_id", "month_date"), {"customer_id": cus}, rows)


def _target_rows(fmt: str, out: Path, store, table: str):
    if fmt == "duckdb":
        with duckdb.connect(str(out), read_only=True) as conn:
            return duckdb_snapshot(conn, table, columns_of(store, table))
    return files_snapshot(out, fmt, table)


def _run(fmt: str, plan) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        store = build_store(Path(scratch) / "store.db")
        out = Path(scratch) / ("w.duckdb" if fmt == "duckdb" else "out")
        target = f"{fmt}:{out}"
        try:
            for step in plan:
                if step[0] == "export":
                    export(store, target, tables=TABLES, full=step[1] == "full")
                else:
                    _apply(store, step)
            export(store, target, tables=TABLES)
            assert set(export(store, target, tables=TABLES).rows.values()) == {0}
            for table in TABLES:
                expected = store_snapshot(store, table, columns_of(store, table))
                assert _target_rows(fmt, out, store, table) == expected
        finally:
            store.close()


@settings(max_examples=15, deadline=None)
@given(plan=steps)
def test_files_end_equal_to_the_store(plan):
    _run("jsonl", plan)


# Opening a DuckDB file costs tens of milliseconds per export: fewer examples.
@settings(max_examples=4, deadline=None)
@given(plan=steps)
def test_duckdb_ends_equal_to_the_store(plan):
    _run("duckdb", plan)
