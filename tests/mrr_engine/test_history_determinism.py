"""One truth for history: a store synced incrementally at random moments while the account changes
holds, row for row, the same MRR tables as one fresh full sync of the same account on the same day.

The demo account (connector/demo) is changed through its mutation API at its own clock, days apart
(seat changes with no proration, cancellations at the period end and at once, no change); the
incremental store syncs at some of those moments, the fresh store once at the end. Both compute as
of the account clock's day. Spans run past Stripe's 30 days of events, so the rule for changes
whose event is no longer kept is exercised too (docs/mrr-rules.md, "When a change happened").
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import stripe
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
from tests.support.api_account import ApiAccount, mrr_tables
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


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1, 40), steps=st.lists(step, min_size=1, max_size=6))
def test_incremental_syncs_give_the_mrr_tables_of_one_fresh_sync(seed, steps):
    work = Path(tempfile.mkdtemp(prefix="mrr-determinism-"))
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


api_step = st.tuples(
    st.integers(1, 20),                                                      # days until the step
    st.sampled_from(["subscribe", "trial", "quantity", "quantity_none", "price_none", "anchor_now",
                     "cancel_at_period_end", "cancel", "fail_payments", "schedule", "nothing"]),
    st.integers(0, 9),                                                       # which subscription / price
    st.booleans(),                                                           # sync right after it
)


def api_change(api, action: str, index: int, prices: list[str]) -> None:
    """One change of an API-made account (tests/mrr_rules/api_account.py), as a user would make it."""
    live = [s.id for s in api.sdk.v1.subscriptions.list(params={"limit": 100}).data]
    if action in ("subscribe", "trial") or not live:
        trial = {"trial_end": api.clock + 7 * DAY} if action == "trial" else {}
        api.subscribe(prices[index % len(prices)], quantity=1 + index % 3, **trial)
        return
    subscription = live[index % len(live)]
    try:
        if action in ("quantity", "quantity_none"):
            api.change_item(subscription, quantity=1 + (index + 1) % 4,
                            **({"proration_behavior": "none"} if action == "quantity_none" else {}))
        elif action == "price_none":
            api.change_item(subscription, price=prices[(index + 1) % len(prices)], proration_behavior="none")
        elif action == "anchor_now":
            api.update(subscription, billing_cycle_anchor="now", proration_behavior="none")
        elif action == "cancel_at_period_end":
            api.update(subscription, cancel_at_period_end=True)
        elif action == "cancel":
            api.cancel(subscription)
        elif action == "fail_payments":
            api.update(subscription, default_payment_method="pm_card_chargeCustomerFail")
        elif action == "schedule":
            schedule = api.sdk.v1.subscription_schedules.create(params={"from_subscription": subscription})
            first = schedule.phases[0]
            api.sdk.v1.subscription_schedules.update(schedule.id, params={"phases": [
                {"items": [{"price": i.price, "quantity": i.quantity} for i in first.items],
                 "start_date": first.start_date, "end_date": api.clock + 9 * DAY},
                {"items": [{"price": first.items[0].price, "quantity": first.items[0].quantity + 1}],
                 "start_date": api.clock + 9 * DAY, "end_date": api.clock + 400 * DAY,
                 "proration_behavior": "none"}]})
    except stripe.InvalidRequestError:
        pass   # e.g. a subscription canceled since it was listed: Stripe refuses, nothing changed


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(api_step, min_size=2, max_size=8))
def test_an_account_built_through_the_api_gives_one_truth_for_history(steps):
    """The same on an account made through Stripe's API while its billing runs (renewals, trials,
    prorations or none, billing-cycle resets, failed payments, schedule phases): syncing along the
    way and one fresh sync at the end hold the same MRR tables."""
    with demo_server.DemoServer(seed=1, customers=0, now=ACCOUNT_NOW) as server:
        api = ApiAccount(server)
        try:
            prices = [api.price(10000), api.price(4900), api.price(120000, "year"), api.price(30000, "month", 3)]
            nightly = api.sync()
            for days, action, index, sync_now in steps:
                api.advance_to((api.clock - ACCOUNT_NOW) / DAY + days)
                api_change(api, action, index, prices)
                if sync_now:
                    api.sync(nightly)
            api.advance_to((api.clock - ACCOUNT_NOW) / DAY + 1)
            api.sync(nightly)
            assert mrr_tables(nightly) == mrr_tables(api.sync())
        finally:
            api.close()
