"""A store already holding an odd value (written before objects were checked on the way in):
the MRR refresh and every export skip and quarantine it, and everyone else's figures carry on."""

from __future__ import annotations

import json
import shutil

import pytest

from connector.errors import EXIT_REJECTED
from connector.refresh import backfill, refresh_after_sync
from connector.mrr.policy import load_policy
from connector.store import open_store
from tests.support.cli import run_cli
from tests.support.odd_values import YEAR_10001, plant, synced_demo


@pytest.fixture(scope="module")
def synced_and_noted(tmp_path_factory):
    """The store, and the _seq spans its sync noted as checked (store.checked_seqs)."""
    path = tmp_path_factory.mktemp("quarantine") / "base.db"
    return path, synced_demo(path, then=lambda store: refresh_after_sync(store, load_policy("default")))


@pytest.fixture(scope="module")
def synced(synced_and_noted):
    return synced_and_noted[0]


def live_mrr_customers(store):
    return store.db.execute("SELECT count(DISTINCT customer_id) FROM mrr_segments WHERE _deleted = 0").fetchone()[0]


@pytest.mark.parametrize("noted", [False, True], ids=["opened-anew", "in-the-sync-process"])
@pytest.mark.parametrize("refresh", [refresh_after_sync, backfill], ids=["refresh", "backfill"])
def test_odd_values_are_quarantined_and_the_refresh_goes_on(synced_and_noted, tmp_path, refresh, noted):
    """Also in the process whose sync wrote the store: the rows it noted as checked do not
    include rows written after it (another writer's), which are checked again."""
    path, spans = synced_and_noted
    shutil.copy(path, tmp_path / "b.db")
    store = open_store(tmp_path / "b.db")
    for first, last in spans if noted else []:
        store.checked_seqs.add(first, last)
    try:
        before = live_mrr_customers(store)
        price = plant(store, "prices", lambda o: o.update(unit_amount=10**20))
        line = plant(store, "invoice_line_items", lambda o: o["period"].update(end=YEAR_10001))
        refresh(store, load_policy("default"))
        held = store.db.execute("SELECT stream, object_id, reason FROM _quarantine ORDER BY stream").fetchall()
        assert held == [
            ("invoice_line_items", line, f"cannot be mapped: date out of range at period.end: {YEAR_10001} "
                                         "is not in years 1..9999"),
            ("prices", price, "cannot be mapped: number out of range at unit_amount: 100000000000000000000"),
        ]
        assert store.rejected_this_run == 2 if refresh is refresh_after_sync else store.rejected_this_run >= 2
        # every customer still has MRR computed (the odd line and price are simply left out)
        assert live_mrr_customers(store) == before
    finally:
        store.close()


def test_an_export_skips_an_unfit_row_quarantines_it_and_exits_8(synced, tmp_path):
    shutil.copy(synced, tmp_path / "b.db")
    store = open_store(tmp_path / "b.db")
    customer = plant(store, "customers", lambda o: o.update(created=YEAR_10001), offset=2)
    total = store.db.execute("SELECT count(*) FROM customers").fetchone()[0]
    store.close()
    out = tmp_path / "out"
    result = run_cli(["export", "--db", str(tmp_path / "b.db"), "--to", f"jsonl:{out}",
                                       "--tables", "customers,invoices"])
    assert result.exit_code == EXIT_REJECTED
    assert result.stderr.splitlines()[-1] == (
        f"warning: customers.created holds {YEAR_10001}, not a timestamp (date out of range: {YEAR_10001} "
        f"is not in years 1..9999); row starting {customer!r}: left out of the export and quarantined")
    exported = [json.loads(line)["id"] for path in (out / "customers").glob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(exported) == total - 1 and customer not in exported
    assert any((out / "invoices").glob("*.jsonl"))
