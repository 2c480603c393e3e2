"""A discount keeps its coupon's terms whether or not /v1/coupons still lists the coupon.

Since API 2025-09-30 ``discount.source.coupon`` is an id unless expanded; the sync
expands it where Stripe's 4-level limit allows. Terms come from the coupons table
(deleted rows included: a coupon's terms never change), else from the discount's
expanded coupon. A discount whose terms cannot be had is counted as unclassified
with what it took off invoices: never dropped.
"""

from __future__ import annotations

from tests.support.stripe_objects import (
    coupon, customer, discount, invoice, item, line, load, mrr_on, price, segments_for, subscription, table,
)

MONTHLY = price("price_m", 10000)
TWENTY = coupon("C20", "forever", percent_off=20)


def _subscription(discounts=(), item_discounts=()):
    return subscription(items=[item("si_1", MONTHLY, start="2025-03-01", end="2025-04-01",
                                    discounts=list(item_discounts))], discounts=list(discounts))


def test_a_coupon_no_longer_listed_keeps_shaping_mrr_through_the_expanded_discount(store):
    load(store, customers=[customer()], prices=[MONTHLY],
         subscriptions=[_subscription([discount("di_1", TWENTY, "2025-01-01")])])
    assert mrr_on(segments_for(store), "2025-03-15") == 8000
    assert [(d["id"], d["coupon_id"], d["duration"], d["percent_off"]) for d in table(store, "billing_discounts")] == [
        ("di_1", "C20", "forever", "20")]
    assert table(store, "billing_unclassified") == []


def test_a_coupon_deleted_after_it_was_synced_keeps_its_terms_for_id_only_discounts(store):
    load(store, customers=[customer()], prices=[MONTHLY], coupons=[TWENTY],
         subscriptions=[_subscription([discount("di_1", "C20", "2025-01-01")])])
    assert mrr_on(segments_for(store), "2025-03-15") == 8000
    with store.db.atomic():
        store.mark_deleted("coupons", [{"id": "C20"}])
    assert mrr_on(segments_for(store), "2025-03-15") == 8000
    assert [d["percent_off"] for d in table(store, "billing_discounts")] == ["20"]


def test_an_item_level_discount_lowers_that_items_mrr(store):
    load(store, customers=[customer()], prices=[MONTHLY], coupons=[coupon("HALF", "forever", percent_off=50)],
         subscriptions=[_subscription(item_discounts=[discount("di_item", "HALF", "2025-01-01")
                                                      | {"subscription_item": "si_1"}])])
    assert mrr_on(segments_for(store), "2025-03-15") == 5000
    assert [(d["id"], d["subscription_item_id"]) for d in table(store, "billing_discounts")] == [("di_item", "si_1")]


def test_a_discount_whose_terms_cannot_be_had_is_counted_with_what_it_took(store):
    january = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01",
                                    discount_amounts=[("di_gone", 2000)])])
    february = invoice("in_2", [line("il_2", "in_2", "price_m", 10000, "2025-02-01", "2025-03-01",
                                     discount_amounts=[("di_gone", 2000)])], created="2025-02-01")
    load(store, customers=[customer()], prices=[MONTHLY], invoices=[january, february],
         subscriptions=[_subscription([discount("di_gone", "C_UNKNOWN", "2025-01-01")])])
    segments_for(store)
    assert [(r["object_type"], r["id"], r["reason"], r["amount_minor"], r["currency"])
            for r in table(store, "billing_unclassified")] == [
        ("discount", "di_gone", "discount whose coupon terms are unknown", 4000, "usd")]
    assert [(d["id"], d["coupon_id"], d["duration"]) for d in table(store, "billing_discounts")] == [
        ("di_gone", "C_UNKNOWN", None)]
