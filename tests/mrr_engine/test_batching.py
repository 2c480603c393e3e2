"""Batching cannot change the tables: the refresh maps, builds segments and computes facts a batch
of customers at a time (to bound memory), and a batch of one customer must give exactly what
one batch of everyone gives — after a first sync (empty tables, the bulk path) and incrementally."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from connector import refresh
from connector.mapping import stripe as stripe_mapping
from connector.mrr import engine
from connector.mrr import segments as segment_builder
from connector.mrr.model import SEGMENTS_TABLE, read_segment_rows, write_customer_segments
from connector.mrr.policy import load_policy
from connector.store import open_store
from connector.store.raw_stripe import RAW_TABLES
from tests.support.demo import copy_store
from tests.support.store_checks import snapshot

AS_OF = date(2026, 11, 1)
# What the refresh keeps in _meta about the derived tables (a first sync starts without them).
_DERIVED_META = ("mapping_seq", "mrr_policy", "mrr_policy_fingerprint", "mrr_as_of", "mrr_policy_settings")


def _as_after_first_sync(path) -> None:
    """The raw tables as a first sync leaves them: every derived table empty, no watermark."""
    conn = sqlite3.connect(path)
    with conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if not name.startswith(("_", "sqlite_")) and name not in RAW_TABLES:
                conn.execute(f'DELETE FROM "{name}"')
        conn.execute(f"DELETE FROM _meta WHERE key IN ({', '.join('?' for _ in _DERIVED_META)})", _DERIVED_META)
    conn.close()


def _batches(monkeypatch, size: int) -> None:
    monkeypatch.setattr(stripe_mapping, "CUSTOMER_BATCH", size)
    monkeypatch.setattr(segment_builder, "BATCH_CUSTOMERS", size)
    monkeypatch.setattr(engine, "BATCH_CUSTOMERS", size)


def _first_refresh(demo_store, folder, name: str):
    path = copy_store(demo_store, folder, name)
    _as_after_first_sync(path)
    store = open_store(str(path))
    result = refresh.refresh(store, load_policy("default"), as_of=AS_OF)
    return path, store, result


@pytest.fixture
def one_batch(demo_store, tmp_path, monkeypatch):
    _batches(monkeypatch, 100_000)
    path, store, result = _first_refresh(demo_store, tmp_path, "one.db")
    yield path, store, result
    store.close()


def test_a_first_refresh_in_batches_of_one_customer_equals_one_batch(demo_store, tmp_path, monkeypatch, one_batch):
    one_path, _, one_result = one_batch
    _batches(monkeypatch, 1)
    path, store, result = _first_refresh(demo_store, tmp_path, "tiny.db")
    store.close()
    assert result == one_result
    assert result["full"] and result["customers"] > 1
    tiny, one = snapshot(path), snapshot(one_path)
    assert tiny[SEGMENTS_TABLE] and tiny["mrr_customer_months"] and tiny["billing_invoice_lines"]
    assert tiny == one


def test_an_incremental_update_in_batches_of_one_customer_equals_one_batch(demo_store, tmp_path, monkeypatch,
                                                                           one_batch):
    one_path, one_store, _ = one_batch
    _batches(monkeypatch, 1)
    path, store, _ = _first_refresh(demo_store, tmp_path, "tiny.db")
    changed = sorted({row["customer_id"] for row in read_segment_rows(store)})[::3]
    for target, size in ((store, 1), (one_store, 100_000)):
        monkeypatch.setattr(engine, "BATCH_CUSTOMERS", size)
        for customer_id in changed:      # each changed customer's MRR doubles from its first segment on
            rows = [{k: v for k, v in row.items() if k not in ("_synced_at", "_deleted", "_seq")}
                    for row in read_segment_rows(target, [customer_id])]
            rows = [{**row, "amount_minor": 2 * row["amount_minor"]} for row in rows]
            write_customer_segments(target, rows[0]["provider"], customer_id, rows)
        stats = engine.update(target, load_policy("default"), set(changed), as_of=AS_OF)
        assert not stats.full and stats.customers == len(changed) and stats.rows_written
    store.close()
    assert snapshot(path) == snapshot(one_path)


def _indexes(path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall()
    finally:
        conn.close()


def test_a_first_refresh_bulk_loaded_equals_the_change_only_upserts(demo_store, tmp_path, monkeypatch, one_batch):
    """Into empty tables the refresh inserts with the indexes built afterwards and asks nothing of
    what was stored; told the tables are not empty, it takes the replace-and-compare path. Same rows."""
    bulk_path, _, bulk_result = one_batch
    for module in (stripe_mapping, segment_builder):
        monkeypatch.setattr(module, "is_empty", lambda db, table: False)
    monkeypatch.setattr(engine, "has_no_rows", lambda db, table: False)   # facts: plain inserts, rollback journal
    path, store, result = _first_refresh(demo_store, tmp_path, "upserted.db")
    store.close()
    assert result == bulk_result
    upserted, bulk = snapshot(path), snapshot(bulk_path)
    assert bulk[SEGMENTS_TABLE] and bulk["mrr_customer_months"] and bulk["billing_invoice_lines"]
    assert upserted == bulk
    assert _indexes(path) == _indexes(bulk_path)
    assert any(name == "idx_billing_invoice_lines_customer" for _, name, _ in _indexes(bulk_path))
