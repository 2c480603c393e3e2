"""Incremental sync against localstripe: changes arrive through its events and equal a full rebuild.

After a full sync the account changes in ways localstripe announces with an
event (it emits none for charges, refunds, invoice items or subscription
updates, so those are not changed here): a customer's email, a deleted
customer, a canceled subscription, a new product, plan and trialing
subscription. The sync's clock is moved past the events lag (the sync only
reads events older than EVENTS_SAFETY_LAG_SECONDS, and the test cannot wait
that long), then the incremental store must equal both localstripe's listing
and a full rebuild into a fresh store.

The sync runs in-process here (the clock must be injected); the CLI path is
covered by test_localstripe.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from connector.constants import EVENTS_SAFETY_LAG_SECONDS
from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import Store, open_store
from connector.sync import SyncReport, run_sync
from tests.support.keys import CANARY_KEY

from tests.support.integration.localstripe_account import NESTED_TABLES, STREAMS, LocalstripeClient, build_account, inventory
from tests.support.integration.localstripe_server import running_localstripe
from tests.support.integration.store_view import as_stored, deleted_ids, live_objects

TABLES = [*STREAMS, *NESTED_TABLES]


@dataclass
class IncrementalRun:
    incremental: Store
    rebuilt: Store
    report: SyncReport
    seq_before: int
    changed: dict[str, str]
    upstream: dict[str, dict[str, dict[str, Any]]]
    events: list[dict[str, Any]]  # every event localstripe holds, account build included


def sync(store: Store, base: str, clock) -> SyncReport:
    provider = StripeProvider(CANARY_KEY, api_base=base, limiter=RateLimiter(1000))
    store.bind_account(provider.identify())
    return run_sync(store, provider, streams=STREAMS, workers=4, clock=clock)


def change_account(client: LocalstripeClient, roles: dict[str, str], upstream) -> dict[str, str]:
    """Changes localstripe announces with events; returns the ids involved by role."""
    subscriptions = upstream["subscriptions"]
    ada = subscriptions[roles["ada_subscription"]]["customer"]
    dee = subscriptions[roles["dee_trial"]]["customer"]
    cyd = subscriptions[roles["cyd_subscription"]]["customer"]
    client.post(f"/v1/customers/{ada}", email="ada@new.example.test")
    client.delete(f"/v1/customers/{dee}")
    client.delete(f"/v1/subscriptions/{roles['bob_subscription']}")
    product = client.post("/v1/products", name="Enterprise")["id"]
    plan = client.post("/v1/plans", product=product, amount=450000, currency="usd", interval="year")["id"]
    trial = client.post("/v1/subscriptions", customer=cyd, trial_period_days=30, **{"items[0][plan]": plan})["id"]
    return {"ada": ada, "dee": dee, "product": product, "plan": plan, "trial": trial}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("localstripe_incremental")
    incremental = open_store(folder / "incremental.db")
    rebuilt = open_store(folder / "rebuilt.db")
    try:
        with running_localstripe(CANARY_KEY) as base:
            client = LocalstripeClient(base, CANARY_KEY)
            roles = build_account(client)
            first = sync(incremental, base, time.time)
            assert first.failures == {}
            seq_before = incremental.current_seq()
            changed = change_account(client, roles, inventory(client))
            upstream = inventory(client)
            events = client.list_all("/v1/events")

            def later() -> float:
                return time.time() + EVENTS_SAFETY_LAG_SECONDS + 5

            report = sync(incremental, base, later)
            assert sync(rebuilt, base, later).failures == {}
        yield IncrementalRun(incremental, rebuilt, report, seq_before, changed, upstream, events)
    finally:
        incremental.close()
        rebuilt.close()


# Event objects that name a synced stream's object (localstripe also announces
# payment intents, sources and the balance, which no stream keeps).
SYNCED_KINDS = {"customer", "product", "plan", "subscription", "invoice"}


def test_incremental_run_read_events_not_lists(run):
    assert run.report.failures == {}
    assert run.report.full_reads == []
    # Every event is newer than the first sync's cursor (which lags by
    # EVENTS_SAFETY_LAG_SECONDS), so the scan sees all of them, account build
    # included, and re-reads each object they name exactly once.
    named = {(e["data"]["object"]["object"], e["data"]["object"]["id"]) for e in run.events}
    assert run.report.events_seen == len(run.events)
    assert run.report.objects_refetched == len({pair for pair in named if pair[0] in SYNCED_KINDS})
    assert run.incremental.current_seq() > run.seq_before


def test_incremental_store_equals_localstripe(run):
    for table in TABLES:
        assert live_objects(run.incremental, table) == as_stored(run.upstream, table), table


def test_incremental_store_equals_a_full_rebuild(run):
    for table in TABLES:
        assert live_objects(run.incremental, table) == live_objects(run.rebuilt, table), table


def test_changes_are_each_where_they_belong(run):
    store = run.incremental
    customers = live_objects(store, "customers")
    subscriptions = live_objects(store, "subscriptions")
    assert customers[run.changed["ada"]]["email"] == "ada@new.example.test"
    assert deleted_ids(store, "customers") == [run.changed["dee"]]
    canceled = [s["id"] for s in subscriptions.values() if s["status"] == "canceled"]
    assert len(canceled) == 2  # the one canceled while building the account, and bob's
    assert live_objects(store, "products")[run.changed["product"]]["name"] == "Enterprise"
    assert live_objects(store, "plans")[run.changed["plan"]]["amount"] == 450000
    items = [i for i in live_objects(store, "subscription_items").values() if i["subscription"] == run.changed["trial"]]
    assert [(i["plan"]["id"], i["quantity"]) for i in items] == [(run.changed["plan"], 1)]
