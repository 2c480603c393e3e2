"""A store already holding an odd value (written before objects were checked on the way in):
the MRR refresh and every export skip and quarantine it, and everyone else's figures carry on."""

from __future__ import annotations

import json
import shutil

import pytest

from connector.errors import EXIT_REJECTED
from connector.http import RateLimiter
from connector.refresh import backfill, refresh_after_sync
from connector.mrr.policy import load_policy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.demo import server as demo_server
from tests.support.keys import CANARY_KEY
from tests.support.cli import run_cli

YEAR_10001 = 253_402_300_800 + 400 * 86_400


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    path = tmp_path_factory.mktemp("quarantine") / "base.db"
    with demo_server.DemoServer(customers=12, seed=3) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500))
        store = open_store(path)
        store.bind_account(provider.identify())
        assert run_sync(store, provider, streams=list(provider.streams), workers=4).failures == {}
        refresh_after_sync(store, load_policy("default"))
        store.close()
    return path


def plant(store, table, change, offset=0):
    """Rewrite one stored raw object as an older version would have stored it; its id."""
    object_id, data = store.db.execute(
        f"SELECT id, data FROM {table} WHERE _deleted = 0 ORDER BY id LIMIT 1 OFFSET {offset}").fetchone()
    obj = json.loads(data)
    change(obj)
    seq = store.current_seq() + 1
    with store.db.atomic():
        store.db.execute(f"UPDATE {table} SET data = ?, _seq = ? WHERE id = ?", [json.dumps(obj), seq, object_id])
        if table == "customers":
            store.db.execute("UPDATE customers SET created = ? WHERE id = ?", [obj["created"], object_id])
        store.set_meta("seq", str(seq))
    return object_id


def live_mrr_customers(store):
    return store.db.execute("SELECT count(DISTINCT customer_id) FROM mrr_segments WHERE _deleted = 0").fetchone()[0]


@pytest.mark.parametrize("refresh", [refresh_after_sync, backfill], ids=["refresh", "backfill"])
def test_odd_values_are_quarantined_and_the_refresh_goes_on(synced, tmp_path, refresh):
    shutil.copy(synced, tmp_path / "b.db")
    store = open_store(tmp_path / "b.db")
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
