"""Rules of issue 13: trials that never convert, taxes however the line carries them, unpaid timing,
completed cancellations under the stripe preset, the chargebee preset, change labels."""

from __future__ import annotations

from datetime import date

from connector.mrr.engine import Rules, compute_ledgers
from connector.mrr.policy import load_policy
from tests.support.stripe_objects import (
    customer, invoice, item, line, load, mrr_on, price, segments_for, subscription, ts,
)

MONTHLY = price("price_m", 10000)
AS_OF = date(2025, 12, 31)


def movements(store, policy="default", overrides=None):
    """(day, kind, amount, cause) of every daily movement, all customers."""
    segments = segments_for(store, policy, overrides)
    ledgers = compute_ledgers(segments, Rules.of(load_policy(policy, overrides or {})), AS_OF)
    return [(m.day.isoformat(), m.kind, m.amount_minor, m.cause) for ledger in ledgers for m in ledger.days]


def test_a_trial_canceled_before_it_converts_has_no_mrr_and_the_later_payment_is_new(store):
    trial = subscription(items=[item("si_1", MONTHLY, start="2025-03-01", end="2025-03-15")], status="canceled",
                         trial_start=ts("2025-03-01"), trial_end=ts("2025-03-15"),
                         canceled_at=ts("2025-03-10"), ended_at=ts("2025-03-10"))
    trial_invoice = invoice("in_0", [line("il_0", "in_0", "price_m", 0, "2025-03-01", "2025-03-15")],
                            created="2025-03-01")
    later = subscription("sub_2", items=[item("si_2", MONTHLY, start="2025-06-01", end="2025-07-01",
                                              subscription="sub_2")])
    load(store, customers=[customer()], prices=[MONTHLY], subscriptions=[trial, later], invoices=[trial_invoice])
    assert mrr_on(segments_for(store), "2025-03-05") == 0
    assert movements(store) == [("2025-06-01", "new", 10000, "new_subscription")]


def test_a_trial_ending_with_cancel_at_period_end_never_had_mrr(store):
    ended = subscription(items=[item("si_1", MONTHLY, start="2025-03-01", end="2025-03-15")], status="canceled",
                         trial_start=ts("2025-03-01"), trial_end=ts("2025-03-15"), cancel_at_period_end=True,
                         canceled_at=ts("2025-03-05"), ended_at=ts("2025-03-15"))
    load(store, customers=[customer()], prices=[MONTHLY], subscriptions=[ended])
    assert movements(store) == []
    assert movements(store, "stripe") == []


def test_a_converted_trial_is_new_from_the_trial_end_labelled_trial_conversion(store):
    converted = subscription(items=[item("si_1", MONTHLY, start="2025-03-15", end="2025-04-15")],
                             trial_start=ts("2025-03-01"), trial_end=ts("2025-03-15"))
    load(store, customers=[customer()], prices=[MONTHLY], subscriptions=[converted])
    assert movements(store) == [("2025-03-15", "new", 10000, "trial_conversion")]


def test_a_line_with_taxes_and_tax_amounts_counts_its_tax_once(store):
    p = price("price_incl", 12000, tax_behavior="inclusive")
    both = line("il_1", "in_1", "price_incl", 12000, "2025-01-01", "2025-02-01", taxes=[(2000, "inclusive")])
    both["tax_amounts"] = [{"amount": 2000, "inclusive": True, "tax_rate": "txr_1"}]
    load(store, customers=[customer()], prices=[p], invoices=[invoice("in_1", [both])])
    assert mrr_on(segments_for(store), "2025-01-15") == 10000
    assert store.db.execute("SELECT tax_minor, net_minor FROM billing_invoice_lines").fetchone() == (2000, 10000)


def test_unspecified_tax_behaviour_with_an_inclusive_rate_is_net_of_tax(store):
    p = price("price_u", 12000, tax_behavior="unspecified")
    load(store, customers=[customer()], prices=[p], subscriptions=[subscription(
        items=[item("si_1", p, start="2025-03-01", end="2025-04-01",
                    tax_rates=[{"id": "txr_1", "percentage": 20.0, "inclusive": True}])])])
    assert mrr_on(segments_for(store), "2025-03-15") == 10000


def test_unspecified_tax_behaviour_learns_the_inclusive_tax_from_its_invoice_line(store):
    p = price("price_u", 12000, tax_behavior="unspecified")
    billed = invoice("in_1", [line("il_1", "in_1", "price_u", 12000, "2025-02-01", "2025-03-01",
                                   taxes=[(2000, "inclusive")])], created="2025-02-01")
    load(store, customers=[customer()], prices=[p], invoices=[billed], subscriptions=[subscription(
        items=[item("si_1", p, start="2025-03-01", end="2025-04-01")])])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-02-15"), mrr_on(segments, "2025-03-15")) == (10000, 10000)
    assert movements(store) == [("2025-02-01", "new", 10000, "new_subscription")]


def test_an_upgrade_with_inclusive_tax_moves_mrr_by_the_net_prices_exactly(store):
    # €99.99 → €199.99 incl. 20 %: prorated lines carry rounding of their own; the net prices do not.
    small = price("price_s", 9999, tax_behavior="inclusive", currency="eur")
    big = price("price_b", 19999, tax_behavior="inclusive", currency="eur")
    march = invoice("in_1", [line("il_1", "in_1", "price_s", 9999, "2025-03-01", "2025-04-01", currency="eur",
                                  taxes=[(1666, "inclusive")])], created="2025-03-01", currency="eur")
    april = invoice("in_2", [
        line("il_2", "in_2", "price_s", -4838, "2025-03-16", "2025-04-01", proration=True, currency="eur",
             taxes=[(-806, "inclusive")]),
        line("il_3", "in_2", "price_b", 9677, "2025-03-16", "2025-04-01", proration=True, currency="eur",
             taxes=[(1613, "inclusive")]),
        line("il_4", "in_2", "price_b", 19999, "2025-04-01", "2025-05-01", currency="eur",
             taxes=[(3333, "inclusive")])], created="2025-04-01", currency="eur")
    load(store, customers=[customer()], prices=[small, big], invoices=[march, april], subscriptions=[subscription(
        currency="eur", items=[item("si_1", big, start="2025-04-01", end="2025-05-01")])])
    assert [m[:3] for m in movements(store)] == [("2025-03-01", "new", 8333), ("2025-03-16", "expansion", 8333)]


def test_unpaid_churns_on_the_day_it_became_unpaid_past_due_until_then(store):
    failed = invoice("in_2", [line("il_2", "in_2", "price_m", 10000, "2025-04-01", "2025-05-01")],
                     status="open", created="2025-04-01")
    now = subscription(items=[item("si_1", MONTHLY, start="2025-04-01", end="2025-05-01")], status="unpaid")
    event = {"id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": ts("2025-04-22"),
             "data": {"object": now, "previous_attributes": {"status": "past_due"}}, "livemode": False}
    load(store, customers=[customer()], prices=[MONTHLY], subscriptions=[now], invoices=[failed], events=[event])
    segments = segments_for(store, as_of="2025-04-25")
    assert [mrr_on(segments, d) for d in ("2025-04-01", "2025-04-21", "2025-04-22")] == [10000, 10000, 0]


def test_unpaid_without_a_dated_change_counts_to_the_end_of_the_failed_period(store):
    paid = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")], created="2025-03-01")
    failed = invoice("in_2", [line("il_2", "in_2", "price_m", 10000, "2025-04-01", "2025-05-01")],
                     status="open", created="2025-04-01")
    load(store, customers=[customer()], prices=[MONTHLY], invoices=[paid, failed], subscriptions=[subscription(
        items=[item("si_1", MONTHLY, start="2025-06-01", end="2025-07-01")], status="unpaid")])
    assert [m[:3] for m in movements(store)] == [("2025-03-01", "new", 10000), ("2025-05-01", "churn", -10000)]


def test_stripe_preset_churns_a_completed_cancellation_at_the_request(store):
    paid = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2023-03-01", "2023-04-01")], created="2023-03-01")
    load(store, customers=[customer()], prices=[MONTHLY], invoices=[paid], subscriptions=[subscription(
        items=[item("si_1", MONTHLY, start="2023-03-01", end="2023-04-01")], status="canceled",
        cancel_at_period_end=True, canceled_at=ts("2023-03-10"), ended_at=ts("2023-04-01"))])
    assert [m[:3] for m in movements(store)] == [("2023-03-01", "new", 10000), ("2023-04-01", "churn", -10000)]
    assert [m[:3] for m in movements(store, "stripe")] == [("2023-03-01", "new", 10000), ("2023-03-10", "churn", -10000)]
    at_period_end = movements(store, "stripe", {"stripe_churn": "at_period_end"})
    assert [m[:3] for m in at_period_end] == [("2023-03-01", "new", 10000), ("2023-04-01", "churn", -10000)]


def test_chargebee_reports_reactivation_under_expansion_and_churn_under_contraction(store):
    first = subscription(items=[item("si_1", MONTHLY, start="2025-03-01", end="2025-04-01")], status="canceled",
                         canceled_at=ts("2025-04-01"), ended_at=ts("2025-04-01"))
    again = subscription("sub_2", items=[item("si_2", MONTHLY, start="2025-06-01", end="2025-07-01",
                                               subscription="sub_2")])
    trialing = subscription("sub_3", "cus_3", [item("si_3", MONTHLY, start="2025-06-01", end="2025-06-15",
                                                    subscription="sub_3")], status="trialing",
                            trial_start=ts("2025-06-01"), trial_end=ts("2025-06-15"), cancel_at_period_end=True)
    load(store, customers=[customer(), customer("cus_3")], prices=[MONTHLY], subscriptions=[first, again, trialing])
    assert [m[:3] for m in movements(store)] == [
        ("2025-03-01", "new", 10000), ("2025-04-01", "churn", -10000), ("2025-06-01", "reactivation", 10000)]
    assert [m[:3] for m in movements(store, "chargebee")] == [
        ("2025-03-01", "new", 10000), ("2025-04-01", "contraction", -10000), ("2025-06-01", "expansion", 10000)]


def test_mid_period_changes_are_labelled_plan_change_and_quantity_not_add_on(store):
    bigger = price("price_b", 20000)
    march = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")], created="2025-03-01")
    april = invoice("in_2", [
        line("il_2", "in_2", "price_m", -5000, "2025-03-16", "2025-04-01", proration=True),
        line("il_3", "in_2", "price_b", 10000, "2025-03-16", "2025-04-01", proration=True),
        line("il_4", "in_2", "price_b", 20000, "2025-04-01", "2025-05-01"),
        line("il_5", "in_2", "price_b", 10000, "2025-04-20", "2025-05-01", quantity=2, proration=True),
        line("il_6", "in_2", "price_b", -5000, "2025-04-20", "2025-05-01", quantity=1, proration=True),
    ], created="2025-04-01")
    load(store, customers=[customer()], prices=[MONTHLY, bigger], invoices=[march, april],
         subscriptions=[subscription(items=[item("si_1", bigger, 2, start="2025-04-01", end="2025-05-01")])])
    assert [m[1:] for m in movements(store)] == [
        ("new", 10000, "new_subscription"), ("expansion", 10000, "plan_change"), ("expansion", 20000, "quantity")]
