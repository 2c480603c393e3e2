"""Rules: normalisation to a month, quantity, tiers, taxes, currencies (issue 5's worked examples)."""

from __future__ import annotations

import json

from tests.support.stripe_objects import (
    customer, invoice, item, line, load, mrr_on, price, segments_for, subscription,
)

DAY = "2025-03-15"   # inside every subscription's current period below


def one_subscription(store, price_obj, quantity=1, *, customer_id="cus_1", sid="sub_1", iid="si_1",
                     start="2025-03-01", end="2025-04-01", currency="usd", **extra):
    load(store, customers=[customer(customer_id)], prices=[price_obj], subscriptions=[subscription(
        sid, customer_id, [item(iid, price_obj, quantity, start=start, end=end, subscription=sid)],
        currency=currency, **extra)])


def test_annual_1200_is_100_a_month(store):
    one_subscription(store, price("price_y", 120000, "year"), start="2025-01-01", end="2026-01-01")
    assert mrr_on(segments_for(store), DAY) == 10000


def test_100_monthly_at_100_plus_50_annual_at_600_is_12500(store):
    monthly, annual = price("price_m", 10000, "month"), price("price_a", 60000, "year")
    customers, subs = [], []
    for n in range(150):
        cid, chosen = f"cus_{n:03d}", monthly if n < 100 else annual
        end = "2025-04-01" if n < 100 else "2026-03-01"
        customers.append(customer(cid))
        subs.append(subscription(f"sub_{n:03d}", cid, [item(f"si_{n:03d}", chosen, start="2025-03-01", end=end,
                                                            subscription=f"sub_{n:03d}")]))
    load(store, customers=customers, prices=[monthly, annual], subscriptions=subs)
    assert mrr_on(segments_for(store), DAY) == 1250000


def test_90_per_3_months_is_30(store):
    one_subscription(store, price("price_q", 9000, "month", 3), start="2025-03-01", end="2025-06-01")
    assert mrr_on(segments_for(store), DAY) == 3000


def test_60_per_2_months_is_30(store):
    one_subscription(store, price("price_b", 6000, "month", 2), start="2025-03-01", end="2025-05-01")
    assert mrr_on(segments_for(store), DAY) == 3000


def test_weekly_price_uses_the_week_factor_and_interval_count(store):
    one_subscription(store, price("price_w", 1000, "week"), start="2025-03-10", end="2025-03-17")
    one_subscription(store, price("price_2w", 2000, "week", 2), customer_id="cus_2", sid="sub_2", iid="si_2",
                     start="2025-03-10", end="2025-03-24")
    segments = segments_for(store)
    assert [s.mrr_minor for s in segments if s.start.isoformat() == "2025-03-10"] == [4333, 4333]  # 1000*52/12
    custom = segments_for(store, overrides={"week_factor": "4"})
    assert [s.mrr_minor for s in custom if s.start.isoformat() == "2025-03-10"] == [4000, 4000]


def test_daily_price_uses_the_day_factor(store):
    one_subscription(store, price("price_d", 100, "day"), start="2025-03-15", end="2025-03-16")
    assert mrr_on(segments_for(store), DAY) == 3042               # 100 * 365/12 = 3041.67
    assert mrr_on(segments_for(store, overrides={"day_factor": "30"}), DAY) == 3000


def test_quantity_times_unit_price(store):
    one_subscription(store, price("price_seat", 2000, "month"), 5)
    assert mrr_on(segments_for(store), DAY) == 10000


STRIPE_TIERS = [
    {"up_to": 5, "unit_amount": 700, "unit_amount_decimal": "700", "flat_amount": None, "flat_amount_decimal": None},
    {"up_to": 10, "unit_amount": 650, "unit_amount_decimal": "650", "flat_amount": None, "flat_amount_decimal": None},
    {"up_to": None, "unit_amount": 600, "unit_amount_decimal": "600", "flat_amount": None, "flat_amount_decimal": None},
]


def tiered(mode):
    return price(f"price_{mode}", None, "month", billing_scheme="tiered", tiers_mode=mode, tiers=STRIPE_TIERS)


def test_volume_tiers_6_seats_39_and_20_seats_120(store):
    one_subscription(store, tiered("volume"), 6)
    one_subscription(store, tiered("volume"), 20, customer_id="cus_2", sid="sub_2", iid="si_2")
    segments = segments_for(store)
    assert {s.customer_id: s.mrr_minor for s in segments} == {"cus_1": 3900, "cus_2": 12000}


def test_graduated_tiers_6_seats_41_50_and_20_seats_127_50(store):
    one_subscription(store, tiered("graduated"), 6)
    one_subscription(store, tiered("graduated"), 20, customer_id="cus_2", sid="sub_2", iid="si_2")
    segments = segments_for(store)
    assert {s.customer_id: s.mrr_minor for s in segments} == {"cus_1": 4150, "cus_2": 12750}


def test_exclusive_tax_is_left_out_of_invoice_history(store):
    p = price("price_m", 10000)
    load(store, customers=[customer()], prices=[p], invoices=[invoice("in_1", [
        line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01", taxes=[(2000, "exclusive")])])])
    segments = segments_for(store)
    assert mrr_on(segments, "2025-01-15") == 10000
    assert json.loads(store.db.execute("SELECT json_array(tax_minor, net_minor) FROM billing_invoice_lines")
                      .fetchone()[0]) == [2000, 10000]


def test_inclusive_tax_is_taken_out_of_invoice_history(store):
    p = price("price_incl", 12000, tax_behavior="inclusive")
    load(store, customers=[customer()], prices=[p], invoices=[invoice("in_1", [
        line("il_1", "in_1", "price_incl", 12000, "2025-01-01", "2025-02-01", taxes=[(2000, "inclusive")])])])
    assert mrr_on(segments_for(store), "2025-01-15") == 10000


def test_inclusive_tax_price_on_a_live_subscription_is_net_of_its_rate(store):
    p = price("price_incl", 12000, tax_behavior="inclusive")
    sub_item = item("si_1", p, start="2025-03-01", end="2025-04-01",
                    tax_rates=[{"id": "txr_1", "percentage": 20.0, "inclusive": True}])
    load(store, customers=[customer()], prices=[p], subscriptions=[subscription(items=[sub_item])])
    assert mrr_on(segments_for(store), DAY) == 10000


def test_jpy_and_kwd_stay_exact(store):
    one_subscription(store, price("price_jpy", 12000, "year", currency="jpy"), currency="jpy",
                     start="2025-01-01", end="2026-01-01")
    one_subscription(store, price("price_kwd", 12345, "year", currency="kwd"), customer_id="cus_2", sid="sub_2",
                     iid="si_2", currency="kwd", start="2025-01-01", end="2026-01-01")
    segments = segments_for(store)
    assert mrr_on(segments, DAY, "jpy") == 1000           # ¥12,000 / 12, no decimals
    assert mrr_on(segments, DAY, "kwd") == 1029           # 12.345 KWD / 12 = 1.02875 → 1.029 (half even)
    assert all(isinstance(s.mrr_minor, int) for s in segments)


def test_currencies_are_never_added_together(store):
    usd, eur = price("price_usd", 10000), price("price_eur", 9000, currency="eur")
    load(store, customers=[customer()], prices=[usd, eur], subscriptions=[
        subscription("sub_1", items=[item("si_1", usd, start="2025-03-01", end="2025-04-01")]),
        subscription("sub_2", currency="eur", items=[item("si_2", eur, start="2025-03-01", end="2025-04-01",
                                                           subscription="sub_2")])])
    segments = segments_for(store)
    assert sorted((s.currency, s.mrr_minor) for s in segments) == [("eur", 9000), ("eur", 9000),
                                                                   ("usd", 10000), ("usd", 10000)]
    assert (mrr_on(segments, DAY, "usd"), mrr_on(segments, DAY, "eur")) == (10000, 9000)
