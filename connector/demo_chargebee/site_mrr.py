"""Chargebee's own per-subscription ``mrr`` field, as its published rules compute it, for the fake site.

Chargebee counts ``active`` and ``non_renewing`` subscriptions (so dunning
ones too); trials, paused, cancelled and future ones are 0. Recurring plans
and addons count, normalised to a month (a year ÷ 12, a quarter ÷ 3, a week
× 52/12, a day × 365/12); one-time charges, metered usage and taxes do not.
Coupons and discounts lower it only when ``included_in_mrr`` and still
applying (``apply_till`` in the future; never ``one_time``). The figure is
rounded half-up to the minor unit. It is a reconciliation aid for
``explain``: the connector computes its own MRR and never reads this one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .billing import price_amount

_MONTHLY = {"month": Decimal(1), "year": Decimal(1) / 12, "week": Decimal(52) / 12, "day": Decimal(365) / 12}
COUNTED = ("active", "non_renewing")


def subscription_mrr(sub: dict[str, Any], prices: dict[str, dict], coupons: dict[str, dict], now: int,
                     inclusive_tax_rate: str | None = None) -> int:
    """The subscription's monthly recurring revenue in minor units; tax-inclusive prices net of their tax."""
    if sub["status"] not in COUNTED:
        return 0
    plan_total, total = Decimal(0), Decimal(0)
    for item in sub.get("subscription_items", []):
        price = prices[item["item_price_id"]]
        if price["item_type"] == "charge" or price["pricing_model"] == "tiered":   # one-time or metered
            continue
        monthly = Decimal(price_amount(price, item.get("quantity", 1))) * _MONTHLY[price["period_unit"]] / price["period"]
        total += monthly
        if price["item_type"] == "plan":
            plan_total += monthly
    for entry in sub.get("coupons", []):
        coupon = coupons[entry["coupon_id"]]
        applying = entry.get("apply_till") is None or entry["apply_till"] > now
        if not coupon["included_in_mrr"] or coupon["duration_type"] == "one_time" or not applying:
            continue
        base = plan_total if coupon["apply_on"] == "each_specified_item" else total
        if coupon["discount_type"] == "percentage":
            total -= base * Decimal(str(coupon["discount_percentage"])) / 100
        else:
            total -= min(base, Decimal(coupon["discount_amount"]))
    for discount in sub.get("discounts", []):
        if discount["included_in_mrr"] and discount["duration_type"] != "one_time":
            total -= min(total, Decimal(discount["amount"]))
    if inclusive_tax_rate is not None:
        total = total * 100 / (100 + Decimal(inclusive_tax_rate))
    return int(max(total, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
