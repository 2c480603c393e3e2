"""Test mode: customers and subscriptions attached to test clocks are read too.

Stripe lists them only with ``test_clock=``; a full read lists the clocks first and
adds one slice per clock, which splits and resumes like any other slice.
"""

from __future__ import annotations

import responses

from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.slices import Slice, advance, restart_without_cursor
from connector.demo import server as demo_server
from tests.support.keys import CANARY_KEY

from tests.support.fakestripe import BASE, small_account


def test_a_full_sync_reads_the_customers_and_subscriptions_of_every_test_clock(tmp_path):
    with demo_server.DemoServer(customers=40, seed=3) as server:
        clock = server.account.catalog.test_clock["id"]
        on_clock = sorted(c["id"] for c in server.account.objects("customers") if c["test_clock"] == clock)
        assert on_clock
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500))
        store = open_store(tmp_path / "clocks.db")
        store.bind_account(provider.identify())
        report = run_sync(store, provider, streams=["customers", "subscriptions"], workers=8)
        assert report.failures == {}
        for stream in ("customers", "subscriptions"):
            stored = sorted(r[0] for r in store.db.execute(f"select id from {stream} where _deleted = 0"))
            assert stored == sorted(o["id"] for o in server.account.objects(stream)), stream
            assert store.get_state(stream)["phase"] == "incremental"
        assert sorted(r[0] for r in store.db.execute(
            "select id from customers where json_extract(data, '$.test_clock') = ?", [clock])) == on_clock
        endpoints = server.stats()["endpoints"]
        assert sum(count for endpoint, count in endpoints.items() if "test_helpers" in endpoint) == 2


def test_a_live_key_lists_no_test_clocks():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = small_account(customers=2)
        fake.install(rsps)
        live = StripeProvider("sk_live_" + CANARY_KEY[8:], api_base=BASE, limiter=RateLimiter(1000))
        assert live.test_clocks() == []
        assert fake.calls == []


def test_a_server_without_test_clocks_is_read_as_before():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = small_account(customers=3)
        fake.install(rsps)
        provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000))
        store = open_store(None)
        store.bind_account(provider.identify())
        report = run_sync(store, provider, streams=["customers"], workers=2, clock=lambda: 1_700_000_000)
        assert report.failures == {}
        assert [path for path, _ in fake.calls if "test_helpers" in path] == ["/v1/test_helpers/test_clocks"]
        assert store.table_counts()["customers"] == 3


def test_a_clock_slice_keeps_its_clock_when_it_advances_splits_and_restarts():
    page = [{"id": f"o{i}", "created": 1000 - i} for i in range(100)]
    nxt, [split] = advance(Slice(partition="clock_1"), page, has_more=True, splittable=True)
    assert (nxt.partition, split.partition) == ("clock_1", "clock_1")
    assert restart_without_cursor(nxt).partition == "clock_1"
    assert Slice.from_state(nxt.to_state()) == nxt
    assert Slice.from_state({"gte": None, "lt": None, "after": None, "after_created": None}) == Slice()
    # a state written before slices named their partition: its test clock is read as the partition
    legacy = {"gte": None, "lt": None, "after": "o9", "after_created": 991, "test_clock": "clock_1"}
    assert Slice.from_state(legacy) == Slice(after="o9", after_created=991, partition="clock_1")
