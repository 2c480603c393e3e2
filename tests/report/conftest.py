"""The report tests' store: MRR facts in three currencies (tests/support/mrr_store.py)."""

from __future__ import annotations

import pytest

from tests.support.mrr_store import build_store


@pytest.fixture
def mrr_store(tmp_path):
    store = build_store(tmp_path / "billing.db")
    yield store
    store.close()
