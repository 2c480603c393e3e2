"""Incremental sync against the demo server: mutations arrive through events, nothing else is read."""

from __future__ import annotations

import json
import time


from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.demo import server as demo_server
from tests.support.keys import CANARY_KEY


def test_changes_after_a_full_sync_arrive_through_events(tmp_path):
    with demo_server.DemoServer(customers=20, seed=5) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500))
        store = open_store(tmp_path / "inc.db")
        store.bind_account(provider.identify())
        streams = list(provider.streams)
        assert run_sync(store, provider, streams=streams, workers=8).failures == {}
        customers = [r[0] for r in store.db.execute("select id from customers where _deleted = 0 order by id")]
        subs = [r[0] for r in store.db.execute("select id from subscriptions where status = 'active' order by id")]
        server.update_customer(customers[0], email="changed@example.com")
        server.delete_customer(customers[1])
        server.cancel_subscription(subs[0])
        server.reset_stats()
        seq = store.current_seq()
        # The sync stays 60 s behind now; step its clock past that instead of waiting.
        report = run_sync(store, provider, streams=streams, workers=8, clock=lambda: time.time() + 120)
        assert report.failures == {} and report.full_reads == []
        data = json.loads(store.db.execute("select data from customers where id = ?", [customers[0]]).fetchone()[0])
        assert data["email"] == "changed@example.com"
        assert store.db.execute("select _deleted from customers where id = ?", [customers[1]]).fetchone() == (1,)
        assert store.db.execute("select status from subscriptions where id = ?", [subs[0]]).fetchone() == ("canceled",)
        assert store.current_seq() > seq
        # requests in proportion to the changes: a probe, one events page, one re-read per object
        assert server.stats()["total"] <= 2 + report.objects_refetched + 3
