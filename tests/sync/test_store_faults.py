"""The store under faults: disk full mid-sync, and a reader while a sync writes."""

from __future__ import annotations

import sqlite3

import pytest

from connector.errors import StoreError
from connector.store import open_store
from connector.sync import pipeline, run_sync

from tests.support.fakestripe import FakeStripe, customer
from tests.support.syncing import provider


def test_disk_full_rolls_back_the_page_and_the_next_run_completes(rsps, tmp_path, monkeypatch):
    # a commit per page, so that some pages are committed before the disk fills up
    monkeypatch.setattr(pipeline, "COMMIT_EVERY_SECONDS", 0)
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000) for i in range(600)]})
    fake.install(rsps)
    db = tmp_path / "full.db"
    store = open_store(db)
    store.bind_account(provider().identify())
    pages_before = store.db.execute("pragma page_count").fetchone()[0]
    page_size = store.db.execute("pragma page_size").fetchone()[0]
    # room for 32 KiB more: a page or two of the 600 customers, not all of them
    store.db.execute(f"pragma max_page_count = {pages_before + 32 * 1024 // page_size}")
    with pytest.raises(StoreError, match="disk is full"):
        run_sync(store, provider(), streams=["customers"], workers=2, clock=lambda: 1_700_000_000)
    rows = store.db.execute("select count(*) from customers").fetchone()[0]
    after = store.get_state("customers")["slices"][0]["after"]
    # whole pages only, and the cursor is exactly behind the last committed page
    assert rows % 100 == 0 and 0 < rows < 600
    # newest first, one second, so ids descend: the cursor is the lowest id written
    assert after == f"cus_{600 - rows:05d}"
    assert after == store.db.execute("select min(id) from customers").fetchone()[0]
    store.db.execute("pragma max_page_count = 1073741823")
    report = run_sync(store, provider(), streams=["customers"], workers=2, clock=lambda: 1_700_000_000)
    assert report.failures == {}
    assert store.db.execute("select count(*) from customers").fetchone()[0] == 600
    assert store.db.execute("pragma integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("commit_every", [0, pipeline.COMMIT_EVERY_SECONDS])
def test_a_reader_during_the_sync_sees_whole_pages_with_their_cursor(rsps, tmp_path, monkeypatch, commit_every):
    monkeypatch.setattr(pipeline, "COMMIT_EVERY_SECONDS", commit_every)
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000) for i in range(450)]})
    db = tmp_path / "wal.db"
    seen = []

    def read_while_syncing(params):
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        count = conn.execute("select count(*) from customers").fetchone()[0]
        state = conn.execute("select state from _sync_state where stream = 'customers'").fetchone()
        conn.close()
        seen.append((count, state[0] if state else None))
        return None

    fake.faults.append((r"/v1/customers", read_while_syncing))
    fake.install(rsps)
    store = open_store(db)
    store.bind_account(provider().identify())
    run_sync(store, provider(), streams=["customers"], workers=1, clock=lambda: 1_700_000_000)
    counts = [count for count, _ in seen]
    assert counts == sorted(counts)
    if commit_every == 0:   # a commit per page: the reader sees each one
        assert {0, 100, 200, 300, 400} <= set(counts)
    assert all(count % 100 == 0 for count in counts)  # never part of a page
    for count, state in seen:
        if count:  # the committed cursor is the last object of the last committed page
            assert f'"after":"cus_{450 - count:05d}"' in state
