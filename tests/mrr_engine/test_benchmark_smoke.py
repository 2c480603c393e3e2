"""A tiny run of benchmarks/mrr_history.py: the engine and the playbook SQL agree, incremental touches 1 %."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
