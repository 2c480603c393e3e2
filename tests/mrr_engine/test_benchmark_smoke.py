"""Tiny runs of the benchmarks: mrr_history.py (the engine and the playbook SQL agree, incremental touches
1 %), and compare_stores.py (a changed row is found)."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

from tests.support.demo import copy_store

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "mrr_history.py"


def test_benchmark_smoke():
    spec = importlib.util.spec_from_file_location("mrr_history_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(customers=300, years=2, seed=3)
    assert (result["periods"], result["customer_months"], result["rebuild_rows"]) == (2828, 5716, 11582)   # no movement after the as-of day is stored
    assert result["engine_checksum"] == result["duckdb_checksum"]
    assert result["metric_months"] == result["duckdb_metric_months"] == 24
    assert result["incremental_customers"] == 3


def test_compare_stores_finds_a_changed_row_and_passes_identical_stores(demo_store, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("compare_stores", BENCHMARK.with_name("compare_stores.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before, after = copy_store(demo_store, tmp_path, "before.db"), copy_store(demo_store, tmp_path, "after.db")
    assert module.main([str(before), str(after)]) == 0
    assert "all identical" in capsys.readouterr().out
    with sqlite3.connect(after) as conn:
        conn.execute("UPDATE mrr_segments SET _seq = _seq + 1 WHERE rowid = (SELECT min(rowid) FROM mrr_segments)")
    conn.close()
    assert module.main([str(before), str(after), "--ignore-seq"]) == 0
    assert module.main([str(before), str(after)]) == 1
    assert "mrr_segments" in capsys.readouterr().out.split("DIFFER")[0].splitlines()[-1]
