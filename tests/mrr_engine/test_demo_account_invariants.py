"""The whole demo account, synced and computed: what any finance reader would check first.

Built in-process (60 customers, seed 1, a fixed "now"), synced through the real
provider and sync, then backfilled under the default policy as of that day.
Each check lists its violations, so a failure names the customers behind it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone

import pytest

from connector.http import RateLimiter
from connector import refresh
from connector.mrr import engine
from connector.mrr.policy import load_policy
from connector.mrr.segments import effective_segments
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.demo import server as demo_server
from tests.support.keys import CANARY_KEY


AS_OF = date(2026, 11, 23)
NOW = int(datetime(2026, 11, 23, tzinfo=timezone.utc).timestamp())


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo-invariants") / "demo.db"
    with demo_server.DemoServer(customers=60, seed=1, now=NOW) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(1000))
        synced = open_store(path)
        synced.bind_account(provider.identify())
        assert run_sync(synced, provider, streams=list(provider.streams), workers=4).failures == {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "today_utc", lambda: AS_OF)
        refresh.backfill(synced, load_policy("default"))
    yield synced
    synced.close()


def rows(store, sql, *params):
    return store.db.execute(sql, params).fetchall()


def customer_months(store):
    return rows(store, "SELECT customer_id, currency, month, mrr_minor, start_mrr_minor, movement_minor "
                       "FROM mrr_customer_months WHERE _deleted = 0")


def test_the_account_has_revenue_in_three_currencies_kept_apart(store):
    assert [c for (c,) in rows(store, "SELECT DISTINCT currency FROM mrr_monthly_metrics WHERE _deleted = 0 "
                                      "ORDER BY 1")] == ["eur", "jpy", "usd"]
    # A customer's MRR is in the currency of the subscriptions behind it, never another one.
    billed = defaultdict(set)
    for customer_id, currency in rows(store, "SELECT customer_id, currency FROM billing_subscriptions WHERE _deleted = 0"):
        billed[customer_id].add(currency)
    assert [(c, cur) for c, cur, *_ in customer_months(store) if cur not in billed[c]] == []


def test_no_negative_mrr_anywhere(store):
    for table in ("mrr_customer_runs", "mrr_customer_months", "mrr_monthly_metrics"):
        assert rows(store, f"SELECT id, mrr_minor FROM {table} WHERE _deleted = 0 AND mrr_minor < 0") == [], table


def test_movements_add_up_to_each_customers_monthly_change(store):
    months = customer_months(store)
    assert [m for m in months if m[3] - m[4] != m[5]] == []
    daily = defaultdict(int)
    for customer_id, currency, day, amount in rows(
            store, "SELECT customer_id, currency, day, amount_minor FROM mrr_movements WHERE _deleted = 0 AND day <= ?",
            AS_OF.isoformat()):
        daily[(customer_id, currency, day[:7])] += amount
    assert [m for m in months if daily.pop((m[0], m[1], m[2]), 0) != m[5]] == []
    assert {key: amount for key, amount in daily.items() if amount} == {}   # no movement outside a listed month


def test_monthly_metrics_are_the_sum_of_their_customers_and_chain_month_to_month(store):
    summed = defaultdict(lambda: [0, 0])
    for _, currency, month, mrr, _, movement in customer_months(store):
        summed[(currency, month)][0] += mrr
        summed[(currency, month)][1] += movement
    metrics = rows(store, "SELECT currency, month, mrr_minor, start_mrr_minor, net_new_mrr_minor "
                          "FROM mrr_monthly_metrics WHERE _deleted = 0 ORDER BY currency, month")
    assert [m for m in metrics if summed[(m[0], m[1])] != [m[2], m[4]]] == []
    previous = {}
    broken = []
    for currency, month, mrr, start, net_new in metrics:
        if start != previous.get(currency, 0) or mrr != start + net_new:
            broken.append((currency, month))
        previous[currency] = mrr
    assert broken == []
    assert {c: m for c, m, *_ in metrics if m == AS_OF.isoformat()[:7]} == {"eur": "2026-11", "jpy": "2026-11",
                                                                           "usd": "2026-11"}


def test_no_churn_that_a_renewal_takes_back_within_days(store):
    """A spurious churn at a period or month end shows as a run ending and another starting days later."""
    last_end: dict[tuple[str, str], str] = {}
    quick_returns = []
    for customer_id, currency, start, end in rows(
            store, "SELECT customer_id, currency, start_date, end_date FROM mrr_customer_runs WHERE _deleted = 0 "
                   "ORDER BY customer_id, currency, start_date"):
        ended = last_end.get((customer_id, currency))
        if ended is not None and start > ended and (date.fromisoformat(start) - date.fromisoformat(ended)).days <= 5:
            quick_returns.append((customer_id, ended, start))
        last_end[(customer_id, currency)] = end
    assert quick_returns == []


def test_live_subscriptions_carry_mrr_until_a_cancellation_takes_effect(store):
    segments = effective_segments(store, load_policy("default"))
    open_ended = {s.subscription_id for s in segments if s.series == "mrr" and s.end is None}
    live = rows(store, "SELECT id, customer_id, cancel_at_period_end, cancel_at FROM billing_subscriptions "
                       "WHERE _deleted = 0 AND status IN ('active', 'past_due') AND pause_behavior IS NULL")
    assert live, "the demo account has live subscriptions"
    assert [s for s in live if not s[2] and s[3] is None and s[0] not in open_ended] == []
    assert [s for s in live if (s[2] or s[3] is not None) and s[0] in open_ended] == []
    # Churn after the as-of day only where a cancellation is scheduled.
    cancelling = {s[1] for s in live if s[2] or s[3] is not None}
    later_churns = rows(store, "SELECT customer_id, day FROM mrr_movements WHERE _deleted = 0 AND movement = 'churn' "
                               "AND day > ?", AS_OF.isoformat())
    assert [c for c in later_churns if c[0] not in cancelling] == []


def test_a_subscription_canceled_at_once_stops_at_its_end(store):
    ended = {sid: datetime.fromtimestamp(at, tz=timezone.utc).date() for sid, at in rows(
        store, "SELECT id, ended_at FROM billing_subscriptions WHERE _deleted = 0 AND status = 'canceled' "
               "AND ended_at IS NOT NULL")}
    assert ended, "the demo account has canceled subscriptions"
    segments = effective_segments(store, load_policy("default"))
    assert [(s.subscription_id, s.start, s.end) for s in segments
            if s.subscription_id in ended and (s.end is None or s.end > ended[s.subscription_id])] == []
