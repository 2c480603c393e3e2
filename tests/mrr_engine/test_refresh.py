"""The refresh chain (connector.refresh): mapping → segments → facts, with the steps faked here."""

from __future__ import annotations

import gc
from datetime import date

import pytest

from connector import refresh
from connector.mrr import engine
from connector.collector import YOUNG_GENERATION_THRESHOLD

from tests.support.segments import FakePolicy, stored_segments
from tests.support.segments import write


@pytest.fixture
def fake_pipeline(monkeypatch, store):
    calls = []
    monkeypatch.setattr(refresh.MAPPINGS["stripe"], "map_changes", lambda s: calls.append(("map_changes",)) or {"c1"})
    monkeypatch.setattr(refresh.MAPPINGS["stripe"], "map_all", lambda s: calls.append(("map_all",)) or {"c1", "c2"})

    def build_segments(s, customer_ids, as_of=None):
        calls.append(("build_segments", None if customer_ids is None else sorted(customer_ids)))
        write(s, "c1", [(0, None, 1000, "usd")])
        return {"c1"}

    monkeypatch.setattr(refresh.segment_builder, "build_segments", build_segments)
    monkeypatch.setattr(engine, "default_segment_source", stored_segments)
    monkeypatch.setattr(engine, "today_utc", lambda: date(2023, 3, 10))
    return calls


def test_refresh_after_sync_updates_only_changed_customers(store, fake_pipeline):
    write(store, "c2", [(0, 40, 500, "usd")])
    engine.rebuild(store, FakePolicy(), as_of=date(2023, 3, 10), segment_source=stored_segments)
    result = refresh.refresh_after_sync(store, FakePolicy())
    assert fake_pipeline == [("map_changes",), ("build_segments", ["c1"])]
    assert result == {
        "mapped_customers": 1, "segment_customers": 1, "full": False, "customers": 1,
        "rows_written": 1 + 1 + 3, "metrics_rows_written": 3, "horizon_month": "2023-03", "policy": "default",
    }
    assert store.db.execute(
        "SELECT month, mrr_minor, customers FROM mrr_monthly_metrics WHERE _deleted = 0 ORDER BY month"
    ).fetchall() == [("2023-01", 1500, 2), ("2023-02", 1000, 1), ("2023-03", 1000, 1)]


def test_backfill_maps_everything_and_rebuilds(store, fake_pipeline):
    result = refresh.backfill(store, FakePolicy())
    assert fake_pipeline == [("map_all",), ("build_segments", None)]   # every customer, mapped or not
    assert (result["mapped_customers"], result["customers"], result["horizon_month"]) == (2, 1, "2023-03")


def test_the_mrr_package_does_not_import_the_mapping():
    import ast
    from pathlib import Path

    package = Path(engine.__file__).parent
    importing = []
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and "mapping" in node.module:
                importing.append(source.name)
    assert importing == []


def test_the_refresh_collects_young_objects_less_often_and_restores_the_collector(store, monkeypatch):
    seen = []

    def failing_mapping(s):
        seen.append(gc.get_threshold())
        raise RuntimeError("mapping failed")

    monkeypatch.setattr(refresh.MAPPINGS["stripe"], "map_changes", failing_mapping)
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="mapping failed"):
        refresh.refresh_after_sync(store, FakePolicy())
    assert gc.get_threshold() == before
    assert seen == [(max(before[0], YOUNG_GENERATION_THRESHOLD), *before[1:])]


def test_the_engine_restores_the_collector_after_computing(store):
    write(store, "c1", [(0, 40, 500, "usd")])
    before = gc.get_threshold()
    stats = engine.rebuild(store, FakePolicy(), as_of=date(2023, 3, 10), segment_source=stored_segments)
    assert stats.customers == 1 and gc.get_threshold() == before
