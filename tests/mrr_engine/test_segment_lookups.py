"""The segment builder finds a live item's lines through indexes (the lines of each item, of each
subscription, the recurring lines by subscription and start day) and computes a subscription's list
total once: the same segments and unplaced rows as looking through all the customer's lines each time,
as the builder did before (``_ScanningSegments`` keeps those scans)."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from connector.mrr import segments_pricing
from connector.mrr.segments import _CustomerSegments
from connector.mrr.segments_live import day_of
from connector.mrr.segments_pricing import gross_amount

START = 1_735_689_600   # 2025-01-01 UTC
DAY = 86_400
SUBSCRIPTIONS = ["sub_1", "sub_2"]
ITEMS = ["si_1", "si_2", "si_3"]
PLANS = {
    "price_m": {"id": "price_m", "currency": "usd", "billing_scheme": "per_unit", "unit_amount_decimal": "1000",
                "interval": "month", "interval_count": 1, "usage_type": "licensed", "tax_behavior": "unspecified",
                "tiers": None, "tiers_mode": None, "transform_divide_by": None, "transform_round": None},
    "price_y": {"id": "price_y", "currency": "usd", "billing_scheme": "per_unit", "unit_amount_decimal": "12000.5",
                "interval": "year", "interval_count": 1, "usage_type": "licensed", "tax_behavior": "inclusive",
                "tiers": None, "tiers_mode": None, "transform_divide_by": None, "transform_round": None},
}


class _Store:
    provider = "stripe"


class _ScanningSegments(_CustomerSegments):
    """The builder as it was: every live item looks through all the customer's lines."""

    def current_invoice_refunded(self, item, start):
        for line in self.lines:
            invoice = self.invoices.get(line["invoice_id"])
            if (invoice and line["kind"] == "recurring" and day_of(line["period_start_at"]) == start
                    and line["subscription_id"] == item["subscription_id"]
                    and line["subscription_item_id"] in (item["id"], None)
                    and "refunded_full" in self.invoice_tags(invoice)):
                return True
        return False

    def free_until_anchor(self, sub, item):
        anchor, period_end = sub.get("billing_cycle_anchor_at"), item["current_period_end_at"]
        if anchor is None or anchor != period_end or sub["trial_end_at"] is not None:
            return False
        start = item["current_period_start_at"]
        return not any(line["subscription_id"] == sub["id"] and line["kind"] in ("recurring", "proration")
                       and line["amount_minor"] and (line["period_start_at"] or 0) < period_end
                       and (line["period_end_at"] or 0) > start for line in self.lines)

    def opening_lines(self, item, period_start):
        return [line for line in self.lines if line["kind"] == "recurring"
                and line["subscription_item_id"] == item["id"] and day_of(line["period_start_at"]) == period_start]

    def changed_mid_period(self, item, start, period_end):
        def matches(row):
            return (row["subscription_item_id"], row["plan_id"], row["quantity"]) == (
                item["id"], item["plan_id"], item["quantity"])

        candidates = [day_of(line["period_start_at"]) for line in self.lines
                      if line["kind"] == "proration" and line["amount_minor"] > 0 and matches(line)]
        candidates += [day_of(change["changed_at"]) for change in self.changes
                       if change["subscription_item_id"] and matches(change)]
        days = [d for d in candidates if d is not None and start < d and (period_end is None or d < period_end)]
        return max(days) if days else None

    def opening_line_discounts(self, item, period_start):
        ids = []
        for line in self.lines:
            if (line["kind"] == "recurring" and line["subscription_item_id"] == item["id"]
                    and day_of(line["period_start_at"]) == period_start):
                ids += [entry["discount"] for entry in json.loads(line["discount_amounts"] or "[]")
                        if entry.get("discount") and entry["discount"] not in ids]
        return ids


def _day(number: int) -> int:
    return START + number * DAY


days = st.integers(0, 200).map(_day)
maybe_days = st.one_of(st.none(), days)


@st.composite
def customers(draw):
    subscriptions = [{
        "id": sub_id, "status": draw(st.sampled_from(["active", "past_due", "unpaid", "canceled", "trialing"])),
        "currency": "usd", "trial_start_at": draw(maybe_days), "trial_end_at": draw(st.one_of(st.none(), st.none(), days)),
        "cancel_at_period_end": draw(st.sampled_from([0, 1])), "cancel_at": draw(st.one_of(st.none(), days)),
        "canceled_at": draw(maybe_days), "ended_at": draw(maybe_days), "pause_behavior": None,
        "discount_ids": draw(st.sampled_from(["[]", '["di_1"]'])),
        "tax_rates": draw(st.sampled_from(["[]", '[{"inclusive": true, "percentage": "20"}]'])),
        # at times an item's period end: the free span before the anchor
        "billing_cycle_anchor_at": draw(st.sampled_from([None, _day(30), _day(60), _day(395)])),
    } for sub_id in SUBSCRIPTIONS]
    items = []
    for item_id in ITEMS:
        period_start = draw(st.sampled_from([0, 30, draw(st.integers(0, 150))]))
        items.append({
            "id": item_id, "subscription_id": draw(st.sampled_from(SUBSCRIPTIONS)),
            "plan_id": draw(st.sampled_from(sorted(PLANS))), "quantity": draw(st.integers(1, 3)),
            "current_period_start_at": _day(period_start),
            "current_period_end_at": draw(st.sampled_from([_day(period_start + 30), _day(period_start + 365)])),
            "created_at": draw(maybe_days), "discount_ids": draw(st.sampled_from(["[]", '["di_2"]'])),
            "tax_rates": "[]",
        })
    invoices = [{
        "id": f"in_{n}", "subscription_id": draw(st.sampled_from(SUBSCRIPTIONS)),
        "status": draw(st.sampled_from(["paid", "open", "void", "uncollectible"])),
        "created_at": draw(days), "amount_paid_minor": draw(st.sampled_from([0, 1000])),
        "amount_refunded_minor": draw(st.sampled_from([0, 500, 1000])),
        "amount_credited_minor": draw(st.sampled_from([0, 200])),
    } for n in range(3)]
    lines = []
    for n in range(draw(st.integers(0, 12))):
        start = draw(st.sampled_from([0, 30, draw(st.integers(0, 180))]))
        amount = draw(st.sampled_from([-1000, 0, 1000, 2000]))
        discounted = draw(st.booleans()) and amount > 0
        lines.append({
            "id": f"il_{n}", "invoice_id": draw(st.sampled_from(["in_0", "in_1", "in_2", "in_gone"])),
            "subscription_id": draw(st.sampled_from([*SUBSCRIPTIONS, None])),
            "subscription_item_id": draw(st.sampled_from([*ITEMS, None])),
            "plan_id": draw(st.sampled_from(sorted(PLANS))),
            "kind": draw(st.sampled_from(["recurring", "recurring", "proration", "usage", "one_time"])),
            "quantity": draw(st.integers(1, 3)), "currency": "usd", "amount_minor": amount,
            "discount_minor": 100 if discounted else 0, "tax_minor": 0, "tax_inclusive_minor": 0,
            "net_minor": amount - (100 if discounted else 0),
            "discount_amounts": '[{"amount": 100, "discount": "di_3"}]' if discounted else "[]",
            "period_start_at": _day(start), "period_end_at": _day(start + draw(st.sampled_from([1, 30, 365]))),
        })
    discounts = [{"id": discount_id, "subscription_id": None, "invoice_id": None, "subscription_item_id": None,
                  "coupon_id": "C", "duration": draw(st.sampled_from(["forever", "once", "repeating"])),
                  **draw(st.sampled_from([{"percent_off": "20", "amount_off_minor": None},   # amount off: spread
                                          {"percent_off": None, "amount_off_minor": 300}])),   # by list totals
                  "currency": None,
                  "start_at": draw(maybe_days), "end_at": draw(maybe_days)} for discount_id in ("di_1", "di_2", "di_3")]
    changes = [{"id": f"ch_{n}", "event_id": None, "subscription_id": draw(st.sampled_from(SUBSCRIPTIONS)),
                "subscription_item_id": draw(st.sampled_from([*ITEMS, None])), "changed_at": draw(days),
                "plan_id": draw(st.sampled_from(sorted(PLANS))), "quantity": draw(st.integers(1, 3)),
                "status": draw(st.sampled_from([None, "unpaid", "active"])), "previous_status": None}
               for n in range(draw(st.integers(0, 3)))]
    return {"billing_subscriptions": subscriptions, "billing_subscription_items": items,
            "billing_invoices": invoices, "billing_invoice_lines": lines, "billing_discounts": discounts,
            "billing_subscription_changes": changes}


def _built(builder_class, neutral):
    builder = builder_class(_Store(), "cus_1", None, neutral, PLANS)
    try:
        return builder.build(), builder.unplaced
    except (ValueError, TypeError, KeyError) as exc:
        return type(exc), str(exc)


@settings(max_examples=400, deadline=None)
@given(customers())
def test_a_customers_segments_are_those_the_scans_of_all_its_lines_gave(neutral):
    assert _built(_CustomerSegments, neutral) == _built(_ScanningSegments, neutral)


def test_the_recurring_lines_by_start_day_keep_the_lines_order_and_skip_lines_of_no_stored_invoice():
    line = {"invoice_id": "in_1", "subscription_id": "sub_1", "subscription_item_id": "si_1", "plan_id": "price_m",
            "kind": "recurring", "period_start_at": _day(3), "period_end_at": _day(33), "id": "il_2"}
    neutral = {"billing_subscriptions": [], "billing_subscription_items": [], "billing_discounts": [],
               "billing_invoices": [{"id": "in_1"}], "billing_subscription_changes": [],
               "billing_invoice_lines": [line | {"id": "il_3"}, line, line | {"id": "il_1", "kind": "proration"},
                                         line | {"id": "il_4", "invoice_id": "in_2"}]}
    builder = _CustomerSegments(_Store(), "cus_1", None, neutral, PLANS)
    assert [(found["id"], invoice) for found, invoice in builder.recurring_lines_from()[("sub_1", date(2025, 1, 4))]] == [
        ("il_2", {"id": "in_1"}), ("il_3", {"id": "in_1"})]
    assert list(builder.recurring_lines_from()) == [("sub_1", date(2025, 1, 4))]


@pytest.mark.parametrize("text", ["1000", "12000.5", "0.333333333333", "1e3", 7, 2.5, None])
def test_a_decimal_text_is_the_fraction_it_was_before_the_cache(text):
    expected = Fraction(str(text)) if text is not None else Fraction(0)
    assert segments_pricing._fraction(text) == expected
    assert segments_pricing._fraction(text) == expected   # and again, from the cache


@pytest.mark.parametrize("text", ["twelve", [1], {"a": 1}, True])
def test_a_value_that_is_no_decimal_raises_as_before(text):
    with pytest.raises(ValueError, match="Invalid literal for Fraction"):
        segments_pricing._fraction(text)


def test_gross_amounts_read_through_the_cache():
    assert gross_amount(PLANS["price_y"], 2) == Fraction(24001)


def test_a_fixed_amount_off_is_spread_over_each_subscriptions_own_list_total():
    def sub(sub_id):
        return {"id": sub_id, "status": "active", "currency": "usd", "trial_start_at": None, "trial_end_at": None,
                "cancel_at_period_end": 0, "cancel_at": None, "canceled_at": None, "ended_at": None,
                "pause_behavior": None, "discount_ids": f'["di_{sub_id}"]', "tax_rates": "[]",
                "billing_cycle_anchor_at": None}

    def item(item_id, sub_id, plan_id):
        return {"id": item_id, "subscription_id": sub_id, "plan_id": plan_id, "quantity": 1,
                "current_period_start_at": _day(0), "current_period_end_at": _day(31), "created_at": None,
                "discount_ids": "[]", "tax_rates": "[]"}

    discounts = [{"id": f"di_{sub_id}", "subscription_id": sub_id, "invoice_id": None, "subscription_item_id": None,
                  "coupon_id": "C", "duration": "forever", "percent_off": None, "amount_off_minor": 300,
                  "currency": None, "start_at": None, "end_at": None} for sub_id in SUBSCRIPTIONS]
    neutral = {"billing_subscriptions": [sub("sub_1"), sub("sub_2")],
               "billing_subscription_items": [item("si_1", "sub_1", "price_m"), item("si_2", "sub_1", "price_m"),
                                              item("si_3", "sub_2", "price_m")],
               "billing_invoices": [], "billing_invoice_lines": [], "billing_discounts": discounts,
               "billing_subscription_changes": []}
    rows, _unplaced = _built(_CustomerSegments, neutral)
    off = {row["segment_id"]: row["amount_minor"] for row in rows if row["source_type"] == "discount"}
    assert off == {f"item_discount:{item_id}:{discount_id}:{part}": amount for part in ("current", "renewal")
                   for item_id, discount_id, amount in [("si_1", "di_sub_1", -150), ("si_2", "di_sub_1", -150),
                                                        ("si_3", "di_sub_2", -300)]}
    assert _built(_CustomerSegments, neutral) == _built(_ScanningSegments, neutral)
