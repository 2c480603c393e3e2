"""The first sync's events history asks only for the event types it keeps (``types[]``).

A month of an account's events is mostly other types; Stripe filters by ``types[]``, so
asking saves most of the history's requests. A Stripe-like server that refuses the
filter is read without it (one warning), one that ignores it is filtered here: the
events stored are the same in all three cases.
"""

from __future__ import annotations

import logging

import pytest

from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from tests.support.fakestripe import BASE, FakeStripe, customer
from tests.support.keys import CANARY_KEY

NOW = 1_700_000_000
KEPT = "customer.subscription.updated"


def account() -> FakeStripe:
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000 + i) for i in range(3)], "subscriptions": []})
    for i in range(600):   # one in ten of the type the history keeps
        kind = KEPT if i % 10 == 0 else "invoice.updated"
        fake.add_event(kind, {"id": f"sub_{i % 7}" if kind == KEPT else f"in_{i}", "object":
                              "subscription" if kind == KEPT else "invoice"}, NOW - 3600 - 60 * i)
    return fake


def filtering_types(fake: FakeStripe, params: dict):
    """Stripe's answer to a types[] filter (the fake itself ignores it)."""
    wanted = {v for k, v in params.items() if k.startswith("types[")}
    if not wanted:
        return None
    events = sorted((e for e in fake.events if e["type"] in wanted), key=lambda e: (e["created"], e["id"]), reverse=True)
    return fake.page(events, params, "/v1/events")


def refusing_types(fake: FakeStripe, params: dict):
    if any(k.startswith("types[") for k in params):
        return fake.error(400, "parameter_unknown", "Received unknown parameter: types", param="types")
    return None


def history(rsps, server) -> tuple[list[str], list[dict], list[str]]:
    """(the events stored, the params of every events request, the warnings) after a first sync."""
    fake = account()
    if server is not None:
        fake.faults.append((r"/v1/events", lambda params: server(fake, params)))
    fake.install(rsps)
    provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000),
                              retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.01))
    store = open_store(None)
    store.bind_account(provider.identify())
    report = run_sync(store, provider, streams=["customers", "subscriptions"], workers=2, clock=lambda: NOW)
    assert report.failures == {}
    stored = sorted(r[0] for r in store.db.execute("select id from events where _deleted = 0"))
    return stored, [params for path, params in fake.calls if path == "/v1/events"], report


@pytest.mark.parametrize("server", [filtering_types, None, refusing_types], ids=["filters", "ignores", "refuses"])
def test_the_history_keeps_the_same_events_whatever_the_server_does_with_types(rsps, caplog, server):
    with caplog.at_level(logging.WARNING):
        stored, calls, _report = history(rsps, server)
    kept = sorted(e["id"] for e in account().events if e["type"] == KEPT)
    assert stored == kept
    asked = [params for params in calls if params.get("types[0]") == KEPT]
    assert asked, "the history did not ask for the types it keeps"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if server is refusing_types:
        assert len(asked) == 1 and len([w for w in warnings if "without a types filter" in w]) == 1
    else:
        assert not [w for w in warnings if "types" in w]
    if server is filtering_types:
        # 60 events kept: one page per history chunk at most, where unfiltered reads take 600 events' pages
        unfiltered = [params for params in calls if "types[0]" not in params and "starting_after" in params]
        assert unfiltered == [] and len(asked) <= 12
