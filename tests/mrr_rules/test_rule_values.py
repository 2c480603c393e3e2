"""The rule values no account built through the demo API can show (a coupon whose terms Stripe no
longer gives, a status the mapping does not know, an incomplete first payment, an uncollectible
invoice), each with the figure docs/mrr-rules.md gives for it."""

from __future__ import annotations

import pytest

from tests.support.stripe_objects import customer, invoice, item, line, load, mrr_on, price, segments_for, subscription

MONTHLY = price("price_m", 10000)


def history(store, status: str = "paid", discount_amounts=()):
    """January's $100 invoice line of a subscription whose last period (February) is its live one."""
    billed = line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01", discount_amounts=discount_amounts)
    load(store, customers=[customer()], prices=[MONTHLY], invoices=[
        invoice("in_1", [billed], status=status, created="2025-01-01")], subscriptions=[subscription(
            items=[item("si_1", MONTHLY, start="2025-02-01", end="2025-03-01")], status="canceled",
            canceled_at=1740787200, ended_at=1740787200)])


@pytest.mark.parametrize("overrides, mrr", [({}, 8000), ({"unknown_discounts_reduce_mrr": False}, 10000)])
def test_a_discount_known_only_as_an_amount_on_its_line(store, overrides, mrr):
    history(store, discount_amounts=[("di_gone", 2000)])
    assert mrr_on(segments_for(store, overrides=overrides), "2025-01-15") == mrr


@pytest.mark.parametrize("policy, mrr", [("default", 0), ("stripe", 0), ("chartmogul", 10000)])
def test_an_uncollectible_invoice_bills_nothing_except_where_the_policy_counts_it(store, policy, mrr):
    history(store, status="uncollectible")
    assert mrr_on(segments_for(store, policy), "2025-01-15") == mrr


@pytest.mark.parametrize("status, overrides, mrr", [
    ("future_status", {}, 0), ("future_status", {"unknown_status_counts": True}, 10000),
    ("incomplete", {}, 0), ("incomplete", {"incomplete_counts": True}, 10000),
])
def test_statuses_counted_only_when_the_rule_says(store, status, overrides, mrr):
    load(store, customers=[customer()], prices=[MONTHLY], subscriptions=[subscription(
        items=[item("si_1", MONTHLY, start="2025-03-01", end="2025-04-01")], status=status)])
    assert mrr_on(segments_for(store, overrides=overrides), "2025-03-15") == mrr
