"""Refunds reach the invoice they reverse through invoice payments (API 2025-03-31.basil on).

Since basil a charge carries no ``invoice`` and an invoice no ``charge``; the link
is an ``invoice_payment`` naming the charge's payment intent. The older shapes
(``charge.invoice``, ``invoice.charge``) and a credit note's ``refunds`` still link.
"""

from __future__ import annotations

from tests.support.stripe_objects import (
    charge, credit_note, customer, invoice, invoice_payment, line, load, mrr_on, price, refund, segments_for, table,
)

MONTHLY = price("price_m", 10000)


def _invoices(**extra):
    """January and February invoices without embedded payments (as a server that did not expand them)."""
    january = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01")], **extra)
    february = invoice("in_2", [line("il_2", "in_2", "price_m", 10000, "2025-02-01", "2025-03-01")],
                       created="2025-02-01", **extra)
    return [{k: v for k, v in i.items() if k != "payments"} for i in (january, february)]


def _refund_links(store):
    return [(r["id"], r["charge_id"], r["invoice_id"]) for r in table(store, "billing_refunds")]


def test_a_full_refund_linked_only_by_the_invoice_payments_table_makes_the_period_unpaid(store):
    load(store, customers=[customer()], prices=[MONTHLY], invoices=_invoices(),
         invoice_payments=[invoice_payment("inpay_1", "in_1", 10000, charge="ch_1"),
                           invoice_payment("inpay_2", "in_2", 10000, charge="ch_2", created="2025-02-01")],
         charges=[charge("ch_1", 10000), charge("ch_2", 10000)], refunds=[refund("re_1", "ch_1", 10000)])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-01-15"), mrr_on(segments, "2025-02-15")) == (0, 10000)
    assert _refund_links(store) == [("re_1", "ch_1", "in_1")]
    assert [(r["id"], r["amount_refunded_minor"]) for r in table(store, "billing_invoices")] == [
        ("in_1", 10000), ("in_2", 0)]


def test_an_invoice_payment_synced_after_the_refund_links_it_incrementally(store):
    load(store, customers=[customer()], prices=[MONTHLY], invoices=_invoices(),
         charges=[charge("ch_1", 10000)], refunds=[refund("re_1", "ch_1", 10000)])
    assert mrr_on(segments_for(store), "2025-01-15") == 10000      # no link yet: the refund is unattached
    assert _refund_links(store) == [("re_1", "ch_1", None)]
    load(store, invoice_payments=[invoice_payment("inpay_1", "in_1", 10000, charge="ch_1")])
    assert mrr_on(segments_for(store), "2025-01-15") == 0
    assert _refund_links(store) == [("re_1", "ch_1", "in_1")]


def test_a_canceled_invoice_payment_links_nothing(store):
    load(store, customers=[customer()], prices=[MONTHLY], invoices=_invoices(),
         invoice_payments=[invoice_payment("inpay_1", "in_1", 10000, charge="ch_1", status="canceled")],
         charges=[charge("ch_1", 10000)], refunds=[refund("re_1", "ch_1", 10000)])
    segments_for(store)
    assert _refund_links(store) == [("re_1", "ch_1", None)]


def test_older_shapes_still_link_charge_invoice_and_invoice_charge(store):
    legacy_charge = {**charge("ch_1", 10000), "invoice": "in_1"}
    del legacy_charge["payment_intent"]
    invoices = _invoices()
    invoices[1]["charge"] = "ch_2"
    load(store, customers=[customer()], prices=[MONTHLY], invoices=invoices,
         charges=[legacy_charge, {k: v for k, v in charge("ch_2", 10000).items() if k != "payment_intent"}],
         refunds=[refund("re_1", "ch_1", 10000), refund("re_2", "ch_2", 10000)])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-01-15"), mrr_on(segments, "2025-02-15")) == (0, 0)
    assert _refund_links(store) == [("re_1", "ch_1", "in_1"), ("re_2", "ch_2", "in_2")]


def test_a_credit_note_carrying_the_refund_links_it_when_no_payment_does(store):
    note = credit_note("cn_1", "in_2", 10000) | {"refunds": [{"amount_refunded": 10000, "refund": "re_1",
                                                               "type": "refund"}]}
    load(store, customers=[customer()], prices=[MONTHLY], invoices=_invoices(), credit_notes=[note],
         charges=[charge("ch_1", 10000)], refunds=[refund("re_1", "ch_1", 10000)])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-01-15"), mrr_on(segments, "2025-02-15")) == (10000, 0)
    assert _refund_links(store) == [("re_1", "ch_1", "in_2")]


def test_a_charge_refunded_without_refund_objects_reaches_its_invoice_by_its_amount_refunded(store):
    load(store, customers=[customer()], prices=[MONTHLY], invoices=_invoices(),
         invoice_payments=[invoice_payment("inpay_1", "in_1", 10000, charge="ch_1")],
         charges=[charge("ch_1", 10000, amount_refunded=2500)])
    segments_for(store)
    assert [(r["id"], r["amount_refunded_minor"]) for r in table(store, "billing_invoices")] == [
        ("in_1", 2500), ("in_2", 0)]


def test_only_charges_that_bring_money_back_and_their_customers_payments_are_parsed(store, monkeypatch):
    """Most charges are never refunded: the mapping does not parse them, nor the invoice payments of a
    customer none of whose charges was (they only tie a refunded charge to its invoice)."""
    from connector.mapping import stripe as stripe_mapping

    parsed: list[str] = []

    def spy(parse):
        def wrapper(data):
            obj, problem = parse(data)
            parsed.append(obj["id"])
            return obj, problem
        return wrapper

    monkeypatch.setattr(stripe_mapping, "checked_object", spy(stripe_mapping.checked_object))
    monkeypatch.setattr(stripe_mapping, "parsed_object", spy(stripe_mapping.parsed_object))
    refunded_customer = _invoices()
    other = [invoice("in_3", [line("il_3", "in_3", "price_m", 10000, "2025-01-01", "2025-02-01")],
                     customer_id="cus_2", subscription="sub_2")]
    load(store, customers=[customer(), customer("cus_2")], prices=[MONTHLY], invoices=refunded_customer + other,
         invoice_payments=[invoice_payment("inpay_1", "in_1", 10000, charge="ch_1"),
                           invoice_payment("inpay_2", "in_2", 10000, charge="ch_2", created="2025-02-01"),
                           invoice_payment("inpay_3", "in_3", 10000, charge="ch_4")],
         charges=[charge("ch_1", 10000), charge("ch_2", 10000), charge("ch_3", 10000, amount_refunded=100),
                  charge("ch_4", 10000, customer_id="cus_2")],
         refunds=[refund("re_1", "ch_1", 10000)])
    segments_for(store)
    assert {p for p in parsed if p.startswith(("ch_", "inpay_"))} == {"ch_1", "ch_3", "inpay_1", "inpay_2"}
    assert _refund_links(store) == [("re_1", "ch_1", "in_1")]
    assert {r["id"]: r["amount_refunded_minor"] for r in table(store, "billing_invoices")} == {
        "in_1": 10000, "in_2": 0, "in_3": 0}


def test_a_charge_refunded_after_it_was_first_mapped_is_read_then(store):
    load(store, customers=[customer()], prices=[MONTHLY], invoices=_invoices(),
         invoice_payments=[invoice_payment("inpay_1", "in_1", 10000, charge="ch_1")],
         charges=[charge("ch_1", 10000)])
    assert mrr_on(segments_for(store), "2025-01-15") == 10000
    load(store, charges=[charge("ch_1", 10000, amount_refunded=10000)], refunds=[refund("re_1", "ch_1", 10000)])
    assert mrr_on(segments_for(store), "2025-01-15") == 0
    assert _refund_links(store) == [("re_1", "ch_1", "in_1")]
    fresh = segments_for(store, incremental=False)
    assert mrr_on(fresh, "2025-01-15") == 0
