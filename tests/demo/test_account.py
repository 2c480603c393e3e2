"""The demo account: deterministic, and every feature the connector must handle is in it."""

from __future__ import annotations

from collections import Counter

from connector.demo import STREAMS, DemoAccount
from connector.demo.catalog import amount_for_quantity

from tests.support.demo import NOW


def test_same_seed_same_objects_and_other_seed_differs():
    first, second = DemoAccount(seed=7, customers=25, now=NOW), DemoAccount(seed=7, customers=25, now=NOW)
    for stream in STREAMS:
        assert first.objects(stream) == second.objects(stream), stream
    other = DemoAccount(seed=8, customers=25, now=NOW)
    assert [c["id"] for c in other.objects("customers")] != [c["id"] for c in first.objects("customers")]


def test_forked_workers_build_the_same_account(monkeypatch):
    import connector.demo.account as account_module

    monkeypatch.setattr(account_module, "CHUNK_CUSTOMERS", 8)  # several chunks from a small account
    serial = DemoAccount(seed=4, customers=30, now=NOW, workers=1)
    forked = DemoAccount(seed=4, customers=30, now=NOW, workers=2)
    for stream in STREAMS:
        assert forked.objects(stream) == serial.objects(stream), stream
    assert forked.discounts == serial.discounts and forked.deleted == serial.deleted


def test_smaller_account_is_a_prefix_of_the_bigger_one(account):
    """Customer i's history depends on (seed, i) only, so scaling adds customers, changes none."""
    small = DemoAccount(seed=1, customers=20, now=NOW)
    big_customers = {c["id"]: c for c in account.objects("customers")}
    for customer in small.objects("customers"):
        assert big_customers[customer["id"]] == customer


def test_default_account_counts(account):
    counts = {stream: len(account.objects(stream)) for stream in STREAMS}
    assert counts == {
        "customers": 296, "products": 22, "prices": 85, "plans": 82, "coupons": 8, "promotion_codes": 4,
        "subscriptions": 337, "subscription_items": 553, "invoices": 4584, "invoice_line_items": 8850,
        "invoice_payments": 4514, "invoice_items": 271, "credit_notes": 53, "charges": 4573, "refunds": 102,
        "events": 1051,
    }


def test_history_spans_three_years_and_ends_at_now(account):
    created = [i["created"] for i in account.objects("invoices")]
    assert NOW - 1095 * 86400 <= min(created) < NOW - 1000 * 86400
    assert max(created) <= NOW


def test_subscription_statuses_trials_and_cancellations(account):
    subscriptions = account.objects("subscriptions")
    statuses = Counter(s["status"] for s in subscriptions)
    assert set(statuses) == {"active", "trialing", "past_due", "unpaid", "canceled"}
    assert statuses["trialing"] >= 10
    converted = [s for s in subscriptions if s["trial_end"] and s["status"] != "trialing" and s["trial_end"] <= NOW]
    assert len(converted) >= 10
    pending_cancel = [s for s in subscriptions if s["cancel_at_period_end"] and s["status"] == "active"]
    assert pending_cancel and all(s["cancel_at"] == s["items"]["data"][0]["current_period_end"]
                                  for s in pending_cancel)
    paused = [s for s in subscriptions if s["pause_collection"]]
    assert paused and {(s["status"], s["pause_collection"]["behavior"]) for s in paused} == {("active", "void")}
    canceled_now = [s for s in subscriptions if s["status"] == "canceled" and not s["cancel_at_period_end"]]
    assert canceled_now and all(s["ended_at"] == s["canceled_at"] for s in canceled_now)


def test_reactivated_customers_have_a_second_subscription_after_the_first_ended(account):
    by_customer: dict[str, list] = {}
    for subscription in account.objects("subscriptions"):
        by_customer.setdefault(subscription["customer"], []).append(subscription)
    comebacks = [subs for subs in by_customer.values() if len(subs) > 1]
    assert len(comebacks) >= 15
    for subs in comebacks:
        older, newer = sorted(subs, key=lambda s: s["created"])[:2]
        assert older["status"] == "canceled" and older["ended_at"] < newer["created"]


def test_catalog_intervals_tiers_metered_and_plans(account):
    prices = account.objects("prices")
    recurring = Counter((p["recurring"]["interval"], p["recurring"]["interval_count"])
                        for p in prices if p["type"] == "recurring")
    assert set(recurring) == {("month", 1), ("month", 3), ("year", 1)}
    assert {p["tiers_mode"] for p in prices} == {None, "volume", "graduated"}
    assert all("tiers" not in p for p in prices)  # shown only when expanded, as on Stripe
    assert [p["recurring"]["usage_type"] for p in prices if p["recurring"] and
            p["recurring"]["usage_type"] == "metered"] == ["metered"] * 3
    assert {p["id"] for p in account.objects("plans")} == {p["id"] for p in prices if p["type"] == "recurring"}
    starter = {(p["recurring"]["interval"], p["recurring"]["interval_count"]): p["unit_amount"]
               for p in prices if p["nickname"].startswith("Starter") and p["currency"] == "usd"}
    assert starter == {("month", 1): 2900, ("month", 3): 8700, ("year", 1): 29000}
    jpy = {p["unit_amount"] for p in prices if p["nickname"] == "Starter month JPY"}
    assert jpy == {4400}


def test_tier_arithmetic(account):
    volume = next(p for p in account.catalog.prices if p["tiers_mode"] == "volume" and p["currency"] == "usd")
    graduated = next(p for p in account.catalog.prices if p["tiers_mode"] == "graduated" and p["currency"] == "usd")
    assert [amount_for_quantity(volume, q) for q in (1, 10, 11, 51)] == [1000, 10000, 8800, 30600]
    # graduated: 5 × 2000 + 1000 flat, then 1500 each
    assert [amount_for_quantity(graduated, q) for q in (1, 5, 7)] == [3000, 11000, 14000]


def test_coupons_every_duration_and_kind_and_promotion_codes(account):
    coupons = account.catalog.coupons
    assert {c["duration"] for c in coupons} == {"forever", "repeating", "once"}
    assert any(c["amount_off"] for c in coupons) and any(c["percent_off"] for c in coupons)
    assert all(c["duration_in_months"] for c in coupons if c["duration"] == "repeating")
    assert len(account.objects("coupons")) == len(coupons) - 2  # two were deleted
    assert {p["code"] for p in account.objects("promotion_codes")} == {"SAVE20", "SPRING25", "WELCOME", "LAUNCH"}
    used = Counter(d["source"]["coupon"]["duration"] for d in account.discounts.values())
    assert set(used) == {"forever", "repeating", "once"}


def test_invoices_statuses_currencies_and_long_invoices(account):
    invoices = account.objects("invoices")
    assert set(Counter(i["status"] for i in invoices)) == {"paid", "open", "uncollectible", "void"}
    assert set(i["currency"] for i in invoices) == {"usd", "eur", "jpy"}
    long_ones = [i for i in invoices if i["lines"]["has_more"]]
    assert long_ones and all(len(i["lines"]["data"]) == 10 and len(account.line_lists[i["id"]].payloads) > 10
                             for i in long_ones)
    many_items = [s for s in account.objects("subscriptions") if s["items"]["has_more"]]
    assert many_items and all(len(s["items"]["data"]) == 10 for s in many_items)


def test_every_invoice_adds_up(account):
    lines_by_invoice: dict[str, list] = {}
    for line in account.objects("invoice_line_items"):
        lines_by_invoice.setdefault(line["invoice"], []).append(line)
    for invoice in account.objects("invoices"):
        lines = lines_by_invoice[invoice["id"]]
        subtotal = sum(line["amount"] for line in lines)
        discounts = sum(d["amount"] for line in lines for d in line["discount_amounts"])
        exclusive = sum(t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "exclusive")
        all_taxes = sum(t["amount"] for t in invoice["total_taxes"])
        assert invoice["subtotal"] == subtotal
        assert invoice["total"] == subtotal - discounts + exclusive
        assert invoice["total_excluding_tax"] == invoice["total"] - all_taxes
        assert sum(d["amount"] for d in invoice["total_discount_amounts"]) == discounts


def test_recurring_lines_are_price_times_quantity_for_the_service_period(account):
    prices = {p["id"]: p for p in account.catalog.prices}
    checked = 0
    for line in account.objects("invoice_line_items"):
        details = line["parent"]["subscription_item_details"]
        price = prices[line["pricing"]["price_details"]["price"]]
        if details is None or details["proration"] or price["recurring"]["usage_type"] == "metered":
            continue
        if line["amount"] == 0:  # the $0 invoice at a trial's start
            continue
        assert line["amount"] == amount_for_quantity(price, line["quantity"]), line["id"]
        assert line["period"]["end"] > line["period"]["start"]
        checked += 1
    assert checked > 4000


def test_prorations_taxes_setup_fees_and_jpy(account):
    lines = account.objects("invoice_line_items")
    prorations = [l for l in lines if (l["parent"]["subscription_item_details"] or {}).get("proration")]
    assert prorations and {l["amount"] > 0 for l in prorations} == {True, False}  # credit and debit
    behaviors = Counter(t["tax_behavior"] for l in lines for t in l["taxes"])
    assert set(behaviors) == {"exclusive", "inclusive"}
    eur_line = next(l for l in lines if l["currency"] == "eur" and l["amount"] == 2900 and not l["discount_amounts"])
    assert eur_line["taxes"][0]["amount"] == 483 and eur_line["taxes"][0]["taxable_amount"] == 2417  # 20 % VAT inside
    setup = [i for i in account.objects("invoice_items") if not i["proration"]]
    assert setup and all(i["invoice"] for i in setup)
    assert any(l["currency"] == "jpy" and l["amount"] == 4400 for l in lines)


def test_refunds_full_and_partial_with_credit_notes(account):
    charges = {c["id"]: c for c in account.objects("charges")}
    refunds = account.objects("refunds")
    full = [r for r in refunds if r["amount"] == charges[r["charge"]]["amount"]]
    partial = [r for r in refunds if r["amount"] < charges[r["charge"]]["amount"]]
    assert full and partial
    assert all(charges[r["charge"]]["refunded"] and charges[r["charge"]]["amount_refunded"] == r["amount"]
               for r in full)
    notes = {n["refunds"][0]["refund"]: n for n in account.objects("credit_notes")}
    with_note = [r for r in full if r["id"] in notes]
    assert with_note and all(notes[r["id"]]["total"] == r["amount"] for r in with_note)
    assert {c["status"] for c in charges.values()} == {"succeeded", "failed"}


def test_refunds_reach_their_invoice_only_through_invoice_payments(account):
    """API 2025-03-31.basil on: no `invoice` on charges, no `charge`/`payment_intent` on invoices."""
    charges = {c["id"]: c for c in account.objects("charges")}
    invoices = account.objects("invoices")
    assert not any("invoice" in c for c in charges.values())
    assert not any(key in i for i in invoices for key in ("charge", "payment_intent", "payments"))
    paid_by = {p["payment"]["payment_intent"]: p["invoice"] for p in account.objects("invoice_payments")
               if p["status"] == "paid"}
    notes = {n["refunds"][0]["refund"] for n in account.objects("credit_notes")}
    full = [r for r in account.objects("refunds") if r["amount"] == charges[r["charge"]]["amount"]]
    only_by_payment = [r for r in full if r["id"] not in notes]
    assert len(only_by_payment) >= 10
    assert all(paid_by[charges[r["charge"]]["payment_intent"]].startswith("in_") for r in only_by_payment)
    paid = [i for i in invoices if i["status"] == "paid" and i["amount_paid"] > 0]
    assert {paid_by.get(charge["payment_intent"]) for charge in charges.values()
            if charge["status"] == "succeeded"} == {i["id"] for i in paid}


def test_ids_look_like_stripe(account):
    prefixes = {
        "customers": "cus_", "subscriptions": "sub_", "subscription_items": "si_", "invoices": "in_",
        "invoice_line_items": "il_", "invoice_items": "ii_", "credit_notes": "cn_", "charges": "ch_",
        "refunds": "re_", "prices": "price_", "products": "prod_", "events": "evt_", "promotion_codes": "promo_",
    }
    for stream, prefix in prefixes.items():
        assert all(o["id"].startswith(prefix) for o in account.objects(stream)), stream
