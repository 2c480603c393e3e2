"""Rules: discount durations, 100 % off, amount off on annual plans, stacking order."""

from __future__ import annotations

from tests.support.stripe_objects import (
    coupon, customer, discount, invoice, item, line, load, mrr_on, price, segments_for, subscription,
)

ANNUAL = price("price_y", 120000, "year")


def annual_with(store, *discounts, coupons=()):
    load(store, customers=[customer()], prices=[ANNUAL], coupons=list(coupons), subscriptions=[subscription(
        items=[item("si_1", ANNUAL, start="2025-01-01", end="2026-01-01")], discounts=list(discounts))])


def test_20_percent_forever_on_1200_a_year_is_80(store):
    c = coupon("FOREVER20", "forever", percent_off=20)
    annual_with(store, discount("di_1", c, "2025-01-01"), coupons=[c])
    segments = segments_for(store)
    assert mrr_on(segments, "2025-06-01") == 8000
    assert mrr_on(segments, "2027-06-01") == 8000
    assert sorted((s.cause, s.mrr_minor) for s in segments if s.start.isoformat() == "2025-01-01") == [
        ("discount:forever", -2000), ("plan", 10000)]


def test_repeating_coupon_on_an_annual_plan_discounts_the_whole_invoiced_year(store):
    # The 3-month coupon was active when the year's invoice was made: the whole year was discounted.
    c = coupon("REP20", "repeating", percent_off=20, duration_in_months=3)
    annual_with(store, discount("di_1", c, "2025-01-01", "2025-04-01"), coupons=[c])
    segments = segments_for(store)
    assert [mrr_on(segments, d) for d in ("2025-02-01", "2025-05-01", "2025-12-31", "2026-01-01")] == [
        8000, 8000, 8000, 10000]


def test_repeating_coupon_on_an_annual_plan_is_the_same_in_history_and_now(store):
    # A year later the discounted year is history (its invoice line): the figures do not move.
    c = coupon("REP20", "repeating", percent_off=20, duration_in_months=3)
    year_one = invoice("in_1", [line("il_1", "in_1", "price_y", 120000, "2025-01-01", "2026-01-01",
                                     discount_amounts=[("di_1", 24000)])], created="2025-01-01")
    year_two = invoice("in_2", [line("il_2", "in_2", "price_y", 120000, "2026-01-01", "2027-01-01")],
                       created="2026-01-01")
    load(store, customers=[customer()], prices=[ANNUAL], coupons=[c], invoices=[year_one, year_two],
         subscriptions=[subscription(items=[item("si_1", ANNUAL, start="2026-01-01", end="2027-01-01")],
                                     discounts=[])])
    segments = segments_for(store)
    assert [mrr_on(segments, d) for d in ("2025-02-01", "2025-05-01", "2025-12-31", "2026-01-01")] == [
        8000, 8000, 8000, 10000]


def test_repeating_coupon_on_a_monthly_plan_ends_with_its_months(store):
    p = price("price_m", 10000)
    c = coupon("REP20", "repeating", percent_off=20, duration_in_months=3)
    load(store, customers=[customer()], prices=[p], coupons=[c], subscriptions=[subscription(
        items=[item("si_1", p, start="2025-03-01", end="2025-04-01")],
        discounts=[discount("di_1", c, "2025-01-01", "2025-04-01")])])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-03-31"), mrr_on(segments, "2025-04-01")) == (8000, 10000)


def test_stripe_preset_subtracts_recurring_discounts_by_default_and_follows_its_setting(store):
    c = coupon("REP20", "repeating", percent_off=20, duration_in_months=3)
    annual_with(store, discount("di_1", c, "2025-01-01", "2025-04-01"), coupons=[c])
    assert mrr_on(segments_for(store, "stripe"), "2025-02-01") == 8000
    assert mrr_on(segments_for(store, "stripe", {"stripe_discounts": "one_time"}), "2025-02-01") == 10000
    assert mrr_on(segments_for(store, "stripe", {"stripe_discounts": "both"}), "2025-02-01") == 8000


def test_stripe_one_time_setting_subtracts_once_discounts_for_their_period(store):
    c = coupon("ONCE20", "once", percent_off=20)
    annual_with(store, discount("di_1", c, "2025-01-01"), coupons=[c])
    assert mrr_on(segments_for(store, "stripe"), "2025-02-01") == 10000
    one_time = segments_for(store, "stripe", {"stripe_discounts": "one_time"})
    assert (mrr_on(one_time, "2025-02-01"), mrr_on(one_time, "2026-02-01")) == (8000, 10000)


def test_once_discount_leaves_mrr_unchanged_by_default_and_counts_under_profitwell(store):
    c = coupon("ONCE20", "once", percent_off=20)
    annual_with(store, discount("di_1", c, "2025-01-01"), coupons=[c])
    assert mrr_on(segments_for(store), "2025-02-01") == 10000
    profitwell = segments_for(store, "profitwell")
    assert (mrr_on(profitwell, "2025-02-01"), mrr_on(profitwell, "2026-02-01")) == (8000, 10000)


def test_10_a_month_with_50_percent_lifetime_is_5(store):
    p = price("price_m", 1000)
    c = coupon("HALF", "forever", percent_off=50)
    load(store, customers=[customer()], prices=[p], coupons=[c], subscriptions=[subscription(
        items=[item("si_1", p, start="2025-03-01", end="2025-04-01")], discounts=[discount("di_1", c, "2025-03-01")])])
    assert mrr_on(segments_for(store), "2025-03-15") == 500


def test_100_percent_off_is_free_and_brings_no_mrr(store):
    c = coupon("FREE", "forever", percent_off=100)
    annual_with(store, discount("di_1", c, "2025-01-01"), coupons=[c])
    assert mrr_on(segments_for(store), "2025-06-01") == 0


def test_amount_off_on_an_annual_plan_is_divided_by_12(store):
    c = coupon("OFF120", "forever", amount_off=12000, currency="usd")
    annual_with(store, discount("di_1", c, "2025-01-01"), coupons=[c])
    assert mrr_on(segments_for(store), "2025-06-01") == 9000


def test_stacked_discounts_apply_in_stripe_order_each_on_what_remains(store):
    p = price("price_m", 10000)
    pct, fixed = coupon("PCT20", "forever", percent_off=20), coupon("OFF10", "forever", amount_off=1000, currency="usd")
    sub = subscription(items=[item("si_1", p, start="2025-03-01", end="2025-04-01")],
                       discounts=[discount("di_1", pct, "2025-03-01"), discount("di_2", fixed, "2025-03-01")])
    other = subscription("sub_2", "cus_2", [item("si_2", p, start="2025-03-01", end="2025-04-01", subscription="sub_2")],
                         discounts=[discount("di_3", fixed, "2025-03-01", subscription="sub_2", customer_id="cus_2"),
                                    discount("di_4", pct, "2025-03-01", subscription="sub_2", customer_id="cus_2")])
    load(store, customers=[customer(), customer("cus_2")], prices=[p], coupons=[pct, fixed], subscriptions=[sub, other])
    segments = segments_for(store)
    assert {c: mrr_on([s for s in segments if s.customer_id == c], "2025-03-15") for c in ("cus_1", "cus_2")} == {
        "cus_1": 7000,    # 100 - 20 % = 80, then - 10 = 70
        "cus_2": 7200,    # 100 - 10 = 90, then - 20 % = 72
    }


def test_a_coupon_change_reaches_the_subscriptions_carrying_it(store):
    c = coupon("FOREVER20", "forever", percent_off=20)
    annual_with(store, discount("di_1", {"id": "FOREVER20"}, "2025-01-01"), coupons=[c])
    assert mrr_on(segments_for(store), "2025-06-01") == 8000
    load(store, coupons=[coupon("FOREVER20", "forever", percent_off=50)])
    assert mrr_on(segments_for(store), "2025-06-01") == 5000


def test_a_once_discount_applied_periods_ago_is_spent(store):
    p = price("price_m", 10000)
    c = coupon("ONCE20", "once", percent_off=20)
    load(store, customers=[customer()], prices=[p], coupons=[c], subscriptions=[subscription(
        items=[item("si_1", p, start="2025-03-01", end="2025-04-01")], discounts=[discount("di_1", c, "2025-01-01")])])
    assert mrr_on(segments_for(store, "profitwell"), "2025-03-15") == 10000


def test_a_multi_currency_amount_off_uses_the_subscriptions_currency(store):
    p = price("price_eur", 10000, currency="eur")
    c = coupon("OFF10", "forever", amount_off=1000, currency="usd") | {"currency_options": {"eur": {"amount_off": 900}}}
    load(store, customers=[customer()], prices=[p], coupons=[c], subscriptions=[subscription(
        currency="eur", items=[item("si_1", p, start="2025-03-01", end="2025-04-01")],
        discounts=[discount("di_1", "OFF10", "2025-03-01")])])
    assert mrr_on(segments_for(store), "2025-03-15", "eur") == 9100
