"""What the Stripe adapter asks to expand, and when an expansion it got falls short."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def unexpanded_discounts(parent: dict[str, Any], children: list[dict[str, Any]]) -> bool:
    """Whether a child carries a discount whose coupon came as an id, unknown on the parent.

    Item and line discounts cannot have their coupons expanded from the parent's
    list (the fifth level); re-reading the child list can. The parent's own
    discounts usually are the same ones, with their coupons: then no request.
    """
    known = {d.get("id") for d in parent.get("discounts") or [] if isinstance(d, dict)
             and isinstance((d.get("source") or {}).get("coupon"), dict)}
    for child in children:
        for discount in child.get("discounts") or []:
            discount_id = discount.get("id") if isinstance(discount, dict) else discount
            coupon = (discount.get("source") or {}).get("coupon") if isinstance(discount, dict) else None
            if discount_id not in known and not isinstance(coupon, dict):
                return True
    return False


def split_expansions(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain params, expand params) of a request."""
    plain = {k: v for k, v in params.items() if not k.startswith("expand")}
    expansions = {k: v for k, v in params.items() if k.startswith("expand")}
    return plain, expansions
