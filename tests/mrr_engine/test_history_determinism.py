"""One truth for history: a store synced incrementally at random moments while the account changes
holds, row for row, the same MRR tables as one fresh full sync of the same account on the same day.

The demo account (connector/demo) is changed through its mutation API at its own clock, days apart
(seat changes with no proration, cancellations at the period end and at once, no change); the
incremental store syncs at some of those moments, the fresh store once at the end. Both compute as
of the account clock's day. Spans run past Stripe's 30 days of events, so the rule for changes
whose event is no longer kept is exercised too (docs/mrr-rules.md, "When a change happened").
The same on an account made through the API: test_history_determinism_api.py.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector import refresh
from connector.demo.mutations import DemoRequestError
from connector.http import RateLimiter, RetryPolicy
from connector.mrr.policy import load_policy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.demo import server as demo_server
from tests.support.api_account import mrr_tables
from tests.support.keys import CANARY_KEY


ACCOUNT_NOW = 1_793_491_200   # 2026-11-01 00:00 UTC
DAY = 86_400
POLICY = load_policy("default")

step = st.tuples(
    st.integers(0, 12),                                                       # days until the change
    st.sampled_from(["quantity", "cancel_at_period_end", "cancel", "nothing"]),
    st.integers(0, 50),                                                       # which subscription
    st.integers(1, 9),                                                        # new quantity
    st.booleans(),                                                            # sync right after it
)


def sync(store, server, provider) -> None:
    clock = server.account.clock + 61     # the sync reads events up to now - 60 s: every change so far
    assert run_sync(store, provider, streams=list(provider.streams), workers=2, clock=lambda: clock).failures == {}
    day = datetime.fromtimestamp(clock, tz=timezone.utc).date()
    refresh.refresh(store, refresh.policy_for(store, POLICY), as_of=day)


def change(server, action: str, index: int, quantity: int) -> None:
    live = sorted(s["id"] for s in server.account.objects("subscriptions")
                  if s["status"] not in ("canceled", "incomplete_expired"))
    if action == "nothing" or not live:
        return
    subscription = live[index % len(live)]
    try:
        if action == "quantity":
            server.update_subscription(subscription, quantity=quantity)
        elif action == "cancel_at_period_end":
            server.update_subscription(subscription, cancel_at_period_end=True)
        else:
            server.cancel_subscription(subscription)
    except DemoRequestError:
        pass   # e.g. a metered item has no quantity: Stripe refuses, nothing changed


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1, 40), steps=st.lists(step, min_size=1, max_size=6))
def test_incremental_syncs_give_the_mrr_tables_of_one_fresh_sync(seed, steps):
    # one directory per example (hypothesis runs many in one test: no tmp_path), removed after it
    with tempfile.TemporaryDirectory(prefix="mrr-determinism-") as directory:
        run_example(Path(directory), seed, steps)


def run_example(work: Path, seed: int, steps: list) -> None:
    with demo_server.DemoServer(seed=seed, customers=4, now=ACCOUNT_NOW) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(1000),
                                  retry_policy=RetryPolicy(max_attempts=3, max_seconds=10))
        try:
            nightly = open_store(work / "nightly.db")
            nightly.bind_account(provider.identify())
            sync(nightly, server, provider)
            for days, action, index, quantity, sync_now in steps:
                server.advance_clock(days * DAY + 3600)
                change(server, action, index, quantity)
                if sync_now:
                    sync(nightly, server, provider)
            server.advance_clock(120)
            sync(nightly, server, provider)
            fresh = open_store(work / "fresh.db")
            fresh.bind_account(provider.identify())
            sync(fresh, server, provider)
            assert mrr_tables(nightly) == mrr_tables(fresh)
            nightly.close()
            fresh.close()
        finally:
            provider.close()
