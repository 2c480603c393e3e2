"""The Stripe mapping from the JSON fixtures (pinned and legacy shapes): whole neutral rows."""

from __future__ import annotations

import pytest

from connector.mapping.schema import unclassified_summary
from connector.mapping.stripe import map_all, map_changes
from tests.support.stripe_objects import customer, fixture, load, mrr_on, price, segments_for, table


@pytest.fixture
def mapped(store):
    load(store, customers=[fixture("customer"), customer("cus_legacy")], products=[fixture("product")],
         prices=[fixture("price_annual"), fixture("price_without_amount")], coupons=[fixture("coupon_forever20")],
         subscriptions=[fixture("subscription_modern"), fixture("subscription_legacy"),
                        fixture("subscription_unknown_status")],
         invoices=[fixture("invoice_modern"), fixture("invoice_legacy")],
         charges=[fixture("charge_modern"), fixture("charge_legacy")], refunds=[fixture("refund_partial")],
         credit_notes=[fixture("credit_note")])
    assert map_all(store) == {"cus_legacy", "cus_modern"}
    return store


def rows(store, name, **where):
    return [r for r in table(store, name) if all(r[k] == v for k, v in where.items())]


def test_pinned_version_subscription_item_and_discount(mapped):
    assert rows(mapped, "billing_subscriptions", id="sub_modern") == [{
        "provider": "stripe", "id": "sub_modern", "customer_id": "cus_modern", "status": "active", "currency": "usd",
        "created_at": 1735689600, "start_at": 1735689600, "trial_start_at": None, "trial_end_at": None,
        "current_period_start_at": 1735689600, "current_period_end_at": 1767225600, "cancel_at_period_end": 0,
        "cancel_at": None, "canceled_at": None, "ended_at": None, "pause_behavior": None, "pause_resumes_at": None,
        "collection_method": "charge_automatically", "discount_ids": '["di_modern"]', "tax_rates": "[]",
        "billing_cycle_anchor_at": 1234567890, "_deleted": 0}]
    assert rows(mapped, "billing_subscription_items", id="si_modern") == [{
        "provider": "stripe", "id": "si_modern", "customer_id": "cus_modern", "subscription_id": "sub_modern",
        "plan_id": "price_pro_annual", "quantity": 2, "current_period_start_at": 1735689600,
        "current_period_end_at": 1767225600, "created_at": 1721954054, "discount_ids": "[]", "tax_rates": "[]",
        "_deleted": 0}]
    assert rows(mapped, "billing_discounts", id="di_modern") == [{
        "provider": "stripe", "id": "di_modern", "customer_id": "cus_modern", "subscription_id": "sub_modern",
        "subscription_item_id": None, "invoice_id": None, "coupon_id": "FOREVER20", "promotion_code_id": None,
        "duration": "forever", "duration_in_months": None, "percent_off": "20", "amount_off_minor": None,
        "currency": "usd", "start_at": 1735689600, "end_at": None, "_deleted": 0}]


def test_pinned_version_invoice_line_with_discount_and_exclusive_tax(mapped):
    assert rows(mapped, "billing_invoice_lines", id="il_modern") == [{
        "provider": "stripe", "id": "il_modern", "invoice_id": "in_modern", "customer_id": "cus_modern",
        "subscription_id": "sub_modern", "subscription_item_id": "si_modern", "plan_id": "price_pro_annual",
        "kind": "recurring", "quantity": 2, "currency": "usd", "amount_minor": 240000, "discount_minor": 48000,
        "tax_minor": 38400, "tax_inclusive_minor": 0, "net_minor": 192000,
        "discount_amounts": '[{"amount":48000,"discount":"di_modern"}]', "period_start_at": 1735689600,
        "period_end_at": 1767225600, "service_start_date": "2025-01-01", "service_end_date": "2026-01-01",
        "_deleted": 0}]
    assert rows(mapped, "billing_invoices", id="in_modern")[0] | {} == {
        "provider": "stripe", "id": "in_modern", "customer_id": "cus_modern", "subscription_id": "sub_modern",
        "status": "paid", "billing_reason": "subscription_create", "currency": "usd", "created_at": 1735689600,
        "period_start_at": 1735689600, "period_end_at": 1735689600, "subtotal_minor": 240000,
        "discount_minor": 48000, "tax_minor": 38400, "total_excluding_tax_minor": 192000, "total_minor": 230400,
        "amount_paid_minor": 230400, "amount_refunded_minor": 50000, "amount_credited_minor": 11520, "_deleted": 0}


def test_refunds_found_through_the_payment_intent_and_credit_notes(mapped):
    assert table(mapped, "billing_refunds") == [{
        "provider": "stripe", "id": "re_modern", "customer_id": "cus_modern", "charge_id": "ch_modern",
        "invoice_id": "in_modern", "status": "succeeded", "currency": "usd", "amount_minor": 50000,
        "created_at": 1736000000, "_deleted": 0}]
    assert table(mapped, "billing_credit_notes") == [{
        "provider": "stripe", "id": "cn_modern", "customer_id": "cus_modern", "invoice_id": "in_modern",
        "status": "issued", "type": "post_payment", "reason": "product_unsatisfactory", "currency": "usd",
        "total_minor": 11520, "total_excluding_tax_minor": 9600, "created_at": 1736100000, "_deleted": 0}]


def test_legacy_shapes_lines_plans_and_singular_discount(mapped):
    lines = {r["id"]: (r["kind"], r["subscription_id"], r["subscription_item_id"], r["plan_id"], r["net_minor"])
             for r in rows(mapped, "billing_invoice_lines", invoice_id="in_legacy")}
    assert lines == {"sli_legacy1": ("recurring", "sub_legacy", "si_legacy", "plan_monthly", 3000),
                     "ii_setup": ("one_time", "sub_legacy", None, "price_setup", 9900)}
    assert [(r["id"], r["duration"], r["percent_off"], r["end_at"]) for r in rows(mapped, "billing_discounts",
                                                                                   customer_id="cus_legacy")] == [
        ("sub_legacy:HALF3", "repeating", "50", 1746057600)]
    plan = rows(mapped, "billing_plans", id="plan_monthly")[0]
    assert (plan["interval"], plan["unit_amount_minor"], plan["product_name"]) == ("month", 3000, "Pro plan")
    assert rows(mapped, "billing_invoices", id="in_legacy")[0]["amount_refunded_minor"] == 12900


def test_unknown_shapes_are_kept_and_counted(mapped):
    assert table(mapped, "billing_unclassified") == [
        {"provider": "stripe", "object_type": "price", "id": "price_no_amount", "customer_id": "",
         "reason": "price has neither unit_amount nor tiers", "amount_minor": None, "currency": "usd", "_deleted": 0},
        {"provider": "stripe", "object_type": "subscription", "id": "sub_odd", "customer_id": "cus_legacy",
         "reason": "unknown subscription status 'on_hold_v2'", "amount_minor": 3000, "currency": "usd",
         "_deleted": 0}]
    assert [r["status"] for r in rows(mapped, "billing_subscriptions", id="sub_odd")] == ["on_hold_v2"]
    assert unclassified_summary(mapped) == [
        {"provider": "stripe", "object_type": "price", "reason": "price has neither unit_amount nor tiers",
         "currency": "usd", "count": 1, "amount_minor": 0},
        {"provider": "stripe", "object_type": "subscription", "reason": "unknown subscription status 'on_hold_v2'",
         "currency": "usd", "count": 1, "amount_minor": 3000}]


def test_fixture_customers_mrr(mapped):
    segments = segments_for(mapped, customers=None, incremental=False)
    modern = [s for s in segments if s.customer_id == "cus_modern"]
    legacy = [s for s in segments if s.customer_id == "cus_legacy"]
    # 2 × $1,200/year = $200/month, − 20 % forever = $160; the partial refund and credit note leave it alone.
    assert mrr_on(modern, "2025-06-01") == 16000
    # $30/month; January fully refunded; 50 % for three months from February; the odd status is left out.
    assert [mrr_on(legacy, d) for d in ("2025-01-15", "2025-02-15", "2025-04-15", "2025-05-15")] == [
        0, 1500, 1500, 3000]


def test_a_rerun_with_no_change_changes_nothing(mapped):
    seq = mapped.current_seq()
    assert map_changes(mapped) == set()
    assert map_all(mapped) == set()
    assert mapped.current_seq() == seq


def test_a_price_change_reaches_the_customers_using_it(mapped):
    map_changes(mapped)
    changed_price = fixture("price_annual") | {"unit_amount": 240000, "unit_amount_decimal": "240000"}
    load(mapped, prices=[changed_price, price("price_unused", 500)])
    assert map_changes(mapped) == {"cus_modern"}
    assert rows(mapped, "billing_plans", id="price_pro_annual")[0]["unit_amount_minor"] == 240000
    assert mapped.meta("mapping_seq") == str(mapped.current_seq())


def test_a_deleted_subscription_leaves_the_neutral_tables(mapped):
    map_changes(mapped)
    with mapped.db.atomic():
        mapped.mark_deleted("subscriptions", [{"id": "sub_odd"}])
    assert map_changes(mapped) == {"cus_legacy"}
    assert rows(mapped, "billing_subscriptions", id="sub_odd") == []
    assert [r["object_type"] for r in table(mapped, "billing_unclassified")] == ["price"]
