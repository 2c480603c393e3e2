"""One truth for history on an account made through Stripe's API while its billing runs: a store synced
along the way holds, row for row, the MRR tables of one fresh sync at the end.

The companion of test_history_determinism.py (an account changed through the demo's mutation API),
in a module of its own so the two run in parallel under `--dist loadscope`.
"""

from __future__ import annotations

import stripe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.demo import server as demo_server
from tests.support.api_account import ApiAccount, mrr_tables

ACCOUNT_NOW = 1_793_491_200   # 2026-11-01 00:00 UTC
DAY = 86_400

api_step = st.tuples(
    st.integers(1, 20),                                                      # days until the step
    st.sampled_from(["subscribe", "trial", "quantity", "quantity_none", "price_none", "anchor_now",
                     "cancel_at_period_end", "cancel", "fail_payments", "schedule", "nothing"]),
    st.integers(0, 9),                                                       # which subscription / price
    st.booleans(),                                                           # sync right after it
)


def api_change(api, action: str, index: int, prices: list[str]) -> None:
    """One change of an API-made account (tests/support/api_account.py), as a user would make it."""
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


@pytest.mark.slow
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
