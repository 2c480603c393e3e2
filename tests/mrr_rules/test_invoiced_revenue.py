"""Rules: one-time fees, prorations, metered usage, refunds and credit notes."""

from __future__ import annotations

from connector.mrr.ledger import mrr_segments
from tests.support.stripe_objects import (
    charge, credit_note, customer, invoice, item, line, load, mrr_on, price, refund, segments_for, subscription, table, ts,
)

MONTHLY = price("price_m", 10000)
BIGGER = price("price_big", 20000)
SETUP = price("price_setup", 5000, None)


def test_setup_fees_and_one_off_invoice_items_are_not_mrr(store):
    first = invoice("in_1", [
        line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01"),
        line("il_2", "in_1", "price_setup", 5000, "2025-01-01", "2025-01-01", from_subscription=False),
        line("il_3", "in_1", "price_setup", 2500, "2025-01-01", "2025-02-01", from_subscription=False),
    ])
    load(store, customers=[customer()], prices=[MONTHLY, SETUP], invoices=[first])
    assert mrr_on(segments_for(store), "2025-01-15") == 10000
    assert [(r["id"], r["kind"]) for r in table(store, "billing_invoice_lines")] == [
        ("il_1", "recurring"), ("il_2", "one_time"), ("il_3", "one_time")]


def test_prorations_are_not_mrr_but_the_new_price_counts_from_the_change(store):
    january = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01")])
    upgrade = invoice("in_2", [
        line("il_2", "in_2", "price_m", -5161, "2025-01-16", "2025-02-01", proration=True),
        line("il_3", "in_2", "price_big", 10323, "2025-01-16", "2025-02-01", proration=True),
    ], created="2025-01-16")
    february = invoice("in_3", [line("il_4", "in_3", "price_big", 20000, "2025-02-01", "2025-03-01")])
    load(store, customers=[customer()], prices=[MONTHLY, BIGGER], invoices=[january, upgrade, february])
    segments = segments_for(store)
    assert [mrr_on(segments, d) for d in ("2025-01-15", "2025-01-16", "2025-02-15")] == [10000, 20000, 20000]
    assert [r["kind"] for r in table(store, "billing_invoice_lines")] == ["recurring", "proration", "proration",
                                                                           "recurring"]


def test_metered_usage_is_a_separate_series_unless_the_policy_adds_it(store):
    metered = price("price_api", 0, usage_type="metered")
    usage = invoice("in_1", [line("il_1", "in_1", "price_api", 2500, "2025-01-01", "2025-02-01")])
    load(store, customers=[customer()], prices=[metered], invoices=[usage],
         subscriptions=[subscription(items=[item("si_1", metered, start="2025-02-01", end="2025-03-01")])])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-01-15"), mrr_on(segments, "2025-01-15", series="usage")) == (0, 2500)
    with_usage = segments_for(store, overrides={"include_usage_in_mrr": True})
    assert [(s.series, s.mrr_minor) for s in with_usage] == [("usage", 2500)]   # the engine adds it:
    assert mrr_on(mrr_segments(with_usage, include_usage=True), "2025-01-15", series="usage") == 2500


def paid_history(store, *, refunds=(), charges=(), credit_notes=()):
    january = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01")], charge="ch_1")
    february = invoice("in_2", [line("il_2", "in_2", "price_m", 10000, "2025-02-01", "2025-03-01")], charge="ch_2")
    load(store, customers=[customer()], prices=[MONTHLY], invoices=[january, february],
         charges=list(charges) or [charge("ch_1", 10000), charge("ch_2", 10000)],
         refunds=list(refunds), credit_notes=list(credit_notes))


def test_a_full_refund_makes_that_period_unpaid(store):
    paid_history(store, refunds=[refund("re_1", "ch_1", 10000)])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-01-15"), mrr_on(segments, "2025-02-15")) == (0, 10000)
    assert [(r["id"], r["invoice_id"], r["amount_minor"]) for r in table(store, "billing_refunds")] == [
        ("re_1", "in_1", 10000)]


def test_a_partial_refund_and_a_credit_note_are_reported_and_leave_mrr_alone(store):
    paid_history(store, refunds=[refund("re_1", "ch_1", 4000)], credit_notes=[credit_note("cn_1", "in_2", 2500)])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-01-15"), mrr_on(segments, "2025-02-15")) == (10000, 10000)
    invoices = {r["id"]: (r["amount_refunded_minor"], r["amount_credited_minor"]) for r in table(store, "billing_invoices")}
    assert invoices == {"in_1": (4000, 0), "in_2": (0, 2500)}
    reduced = segments_for(store, overrides={"partial_refund_reduces_mrr": True})
    assert (mrr_on(reduced, "2025-01-15"), mrr_on(reduced, "2025-02-15")) == (6000, 7500)


def test_refund_known_only_from_the_charge(store):
    paid_history(store, charges=[charge("ch_1", 10000, amount_refunded=10000), charge("ch_2", 10000)])
    assert mrr_on(segments_for(store), "2025-01-15") == 0


def test_an_upgrade_in_the_current_period_counts_from_the_change_day(store):
    march = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")])
    upgrade = invoice("in_2", [
        line("il_2", "in_2", "price_m", -5484, "2025-03-15", "2025-04-01", proration=True),
        line("il_3", "in_2", "price_big", 10968, "2025-03-15", "2025-04-01", proration=True),
    ], created="2025-03-15")
    load(store, customers=[customer()], prices=[MONTHLY, BIGGER], invoices=[march, upgrade], subscriptions=[
        subscription(items=[item("si_1", BIGGER, start="2025-03-01", end="2025-04-01")])])
    segments = segments_for(store)
    assert [mrr_on(segments, d) for d in ("2025-03-14", "2025-03-15", "2025-04-15")] == [10000, 20000, 20000]
    assert sorted((s.start.isoformat(), s.end and s.end.isoformat(), s.source_id, s.mrr_minor) for s in segments) == [
        ("2025-03-01", "2025-03-15", "il_1", 10000),
        ("2025-03-15", "2025-04-01", "si_1", 20000),
        ("2025-04-01", None, "si_1", 20000)]


def test_a_change_without_proration_counts_from_the_day_its_event_records(store):
    march = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")])
    now = subscription(items=[item("si_1", BIGGER, start="2025-03-01", end="2025-04-01")])
    before = {"items": {"object": "list", "data": [item("si_1", MONTHLY, start="2025-03-01", end="2025-04-01")]}}
    event = {"id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": ts("2025-03-20"),
             "data": {"object": now, "previous_attributes": before}, "livemode": False}
    load(store, customers=[customer()], prices=[MONTHLY, BIGGER], invoices=[march], subscriptions=[now],
         events=[event])
    segments = segments_for(store, as_of="2025-03-25")
    assert [mrr_on(segments, d) for d in ("2025-03-19", "2025-03-20")] == [10000, 20000]
    # once Stripe no longer keeps the event (a fresh sync could not read it), the rule for undated
    # changes holds for every store: the new price from the first invoice that bills it, never backdated
    later = segments_for(store, customers=None, as_of="2025-04-28")
    assert [mrr_on(later, d) for d in ("2025-03-01", "2025-03-20", "2025-03-31", "2025-04-01")] == [
        10000, 10000, 10000, 20000]
    assert table(store, "billing_subscription_changes") == [{
        "provider": "stripe", "id": "evt_1:si_1", "customer_id": "cus_1", "event_id": "evt_1",
        "subscription_id": "sub_1", "subscription_item_id": "si_1", "changed_at": ts("2025-03-20"),
        "plan_id": "price_big", "quantity": 1, "previous_plan_id": "price_m", "previous_quantity": 1,
        "status": None, "previous_status": None, "_deleted": 0}]
