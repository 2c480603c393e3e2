"""A coupon deleted upstream while discounts still carry it: kept, marked, MRR unchanged."""

from __future__ import annotations

import time


from connector.http import RateLimiter
from connector.refresh import refresh_after_sync
from connector.mrr.policy import load_policy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.demo import server as demo_server
from tests.support.keys import CANARY_KEY


def mrr_by_customer(store):
    return dict(store.db.execute(
        "select customer_id, sum(mrr_minor) from mrr_customer_runs where _deleted = 0 and end_date is null group by 1"
    ).fetchall())


def test_deleted_coupon_still_referenced_by_a_discount(tmp_path):
    policy = load_policy("default")
    with demo_server.DemoServer(customers=40, seed=2) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500))
        store = open_store(tmp_path / "coupon.db")
        store.bind_account(provider.identify())
        streams = list(provider.streams)
        assert run_sync(store, provider, streams=streams, workers=8).failures == {}
        refresh_after_sync(store, policy)
        coupon_id, uses = store.db.execute(
            "select coupon_id, count(*) from billing_discounts where _deleted = 0 and subscription_id is not null "
            "group by 1 order by 2 desc limit 1"
        ).fetchone()
        assert uses >= 1
        before = mrr_by_customer(store)
        discounts_before = store.db.execute("select count(*) from billing_discounts where _deleted = 0").fetchone()

        server.delete_coupon(coupon_id)
        report = run_sync(store, provider, streams=streams, workers=8, clock=lambda: time.time() + 120)
        assert report.failures == {}
        refresh_after_sync(store, policy)

        # the coupon row stays, marked deleted; the discounts that carry it keep their terms
        assert store.db.execute("select _deleted from coupons where id = ?", [coupon_id]).fetchone() == (1,)
        assert store.db.execute("select count(*) from billing_discounts where _deleted = 0").fetchone() == discounts_before
        # deleting a coupon stops new redemptions; it does not end existing discounts
        assert mrr_by_customer(store) == before


def test_a_fresh_sync_keeps_the_terms_of_a_coupon_deleted_before_it_and_of_item_discounts(tmp_path):
    """The demo's `legacy20` coupon was deleted upstream before this first sync: /v1/coupons does
    not list it, yet its discounts (and the add-on's item-level discount) keep their terms."""
    with demo_server.DemoServer(customers=40, seed=2) as server:
        deleted = next(c for c in server.account.catalog.coupons if c["name"].startswith("20% off forever (legacy"))
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500))
        store = open_store(tmp_path / "fresh.db")
        store.bind_account(provider.identify())
        assert run_sync(store, provider, streams=list(provider.streams), workers=8).failures == {}
        refresh_after_sync(store, load_policy("default"))
    assert store.db.execute("select count(*) from coupons where id = ?", [deleted["id"]]).fetchone() == (0,)
    carried = store.db.execute("select distinct duration, percent_off from billing_discounts where _deleted = 0 "
                               "and coupon_id = ?", [deleted["id"]]).fetchall()
    assert carried == [("forever", "20")]
    on_items = store.db.execute("select duration, percent_off, count(*) from billing_discounts where _deleted = 0 "
                                "and subscription_item_id is not null group by 1, 2").fetchall()
    assert on_items == [("forever", "50", 2)]
    assert store.db.execute("select count(*) from billing_unclassified where _deleted = 0 "
                            "and object_type = 'discount'").fetchone() == (0,)
    # the item-level discounts lower MRR: a segment per discounted item, negative
    assert store.db.execute("select count(*) from mrr_segments where _deleted = 0 and source_type = 'discount' "
                            "and segment_id like 'item_discount:%' and source_id like 'di_%item' "
                            "and amount_minor < 0").fetchone()[0] >= 2
