"""Stripe prices (and legacy plans) → ``billing_plans`` rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..store import canonical_json
from .stripe_shapes import decimal_text, dig, list_data, ref

PROVIDER = "stripe"
KNOWN_INTERVALS = frozenset({"day", "week", "month", "year"})


def unclassified(object_type: str, object_id: str, customer_id: str, reason: str,
                 amount_minor: int | None = None, currency: str | None = None) -> dict[str, Any]:
    """A ``billing_unclassified`` row: what was not recognised, and what is at stake."""
    return {
        "provider": PROVIDER, "object_type": object_type, "id": object_id, "customer_id": customer_id,
        "reason": reason, "amount_minor": amount_minor, "currency": currency,
    }


def _tier(tier: Mapping[str, Any]) -> dict[str, Any]:
    def exact(decimal_key: str, int_key: str) -> str | None:
        if tier.get(decimal_key) is not None:
            return decimal_text(tier[decimal_key])
        return decimal_text(tier.get(int_key))

    return {
        "up_to": tier.get("up_to"),
        "unit_amount_decimal": exact("unit_amount_decimal", "unit_amount"),
        "flat_amount_decimal": exact("flat_amount_decimal", "flat_amount"),
    }


def plan_row(price: Mapping[str, Any], product_name: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A billing_plans row from a price or a legacy plan object, and why it is unclassified (if so)."""
    legacy = price.get("object") == "plan"
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval") or (price.get("interval") if legacy else None)
    unit_amount = price.get("amount") if legacy else price.get("unit_amount")
    unit_decimal = price.get("amount_decimal") if legacy else price.get("unit_amount_decimal")
    transform = price.get("transform_usage") if legacy else price.get("transform_quantity")
    tiers = [_tier(t) for t in list_data(price.get("tiers"))]
    usage_type = recurring.get("usage_type") or price.get("usage_type") or "licensed"
    row = {
        "provider": PROVIDER,
        "id": price["id"],
        "product_id": ref(price.get("product")),
        "product_name": product_name or dig(price, "product", "name"),
        "nickname": price.get("nickname"),
        "type": price.get("type") or ("recurring" if interval else "one_time"),
        "currency": (price.get("currency") or "").lower() or None,
        "billing_scheme": price.get("billing_scheme") or "per_unit",
        "unit_amount_minor": unit_amount,
        "unit_amount_decimal": decimal_text(unit_decimal) if unit_decimal is not None else decimal_text(unit_amount),
        "tiers_mode": price.get("tiers_mode"),
        "tiers": canonical_json(tiers) if tiers else None,
        "transform_divide_by": (transform or {}).get("divide_by"),
        "transform_round": (transform or {}).get("round"),
        "interval": interval,
        "interval_count": int(recurring.get("interval_count") or price.get("interval_count") or 1) if interval else None,
        "usage_type": usage_type,
        "tax_behavior": price.get("tax_behavior") or "unspecified",
        "active": int(bool(price.get("active", True))),
    }
    problems = []
    if row["billing_scheme"] == "tiered" and not tiers:
        problems.append("tiered price without tiers")
    elif row["billing_scheme"] != "tiered" and row["unit_amount_decimal"] is None and usage_type != "metered":
        problems.append("price has neither unit_amount nor tiers")
    if interval is not None and interval not in KNOWN_INTERVALS:
        problems.append(f"unknown billing interval {interval}")
    return row, [unclassified("price", price["id"], "", reason, None, row["currency"]) for reason in problems]


