"""Negative control: a customer the planted bug drops from every run, the clean one too, is counted lost
(tests/support/planted_bugs.py)."""

from __future__ import annotations

import pytest

from tests.support.planted_bugs import run_with


@pytest.mark.slow
def test_a_customer_dropped_by_every_run_is_lost(tmp_path):
    outcome = run_with(["dropped_customer"], tmp_path)
    assert outcome["ok"] is False and outcome["totals"]["leaks"] == 0
    assert outcome["totals"]["lost"] > 0, outcome["line"]
    assert any(p.startswith("run 0: customers cus_") and p.endswith(" missing") for p in outcome["problems"])
