"""Chargebee prices → ``billing_plans`` rows; coupon terms → discount terms (pure functions).

Item prices (Product Catalog 2.0) and plans and addons (1.0) become one row
each. Pricing models:

* ``flat_fee``: one price whatever the quantity → ``per_unit`` at quantity 1
  (subscription items of a flat fee are mapped with quantity 1);
* ``per_unit``: ``per_unit``;
* ``tiered``: ``tiered`` + ``graduated`` (each unit at the price of its tier);
* ``volume``: ``tiered`` + ``volume`` (every unit at the tier the quantity falls in);
* ``stairstep``: ``tiered`` + ``volume`` with a flat amount per tier and a unit
  amount of 0 — the quantity's step costs its flat price, which is exactly how
  the volume rule evaluates such tiers, so no new tiers mode is needed.

Tier ``ending_unit`` (inclusive) is ``up_to``; the last tier has none. A tier
whose ``pricing_type`` is ``package``, or a pricing model we do not know, is
reported as unclassified with the row still written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..store import canonical_json
from .chargebee_shapes import PROVIDER, currency_of, decimal_text, unclassified

KNOWN_PERIOD_UNITS = frozenset({"day", "week", "month", "year"})
_TIERED_MODE = {"tiered": "graduated", "volume": "volume", "stairstep": "volume"}


def _tier(tier: Mapping[str, Any], model: str) -> tuple[dict[str, Any], str | None]:
    price = tier.get("price_in_decimal", tier.get("price"))
    flat = model == "stairstep" or tier.get("pricing_type") == "flat_fee"
    problem = "tier priced by package" if tier.get("pricing_type") == "package" else None
    return {
        "up_to": tier.get("ending_unit"),
        "unit_amount_decimal": "0" if flat else decimal_text(price),
        "flat_amount_decimal": decimal_text(price) if flat else "0",
    }, problem


def plan_row(price: Mapping[str, Any], *, kind: str, product_name: str | None = None,
             metered: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A ``billing_plans`` row from an item price (``kind`` item_price), plan or addon; and what is unclassified.

    ``kind`` names the Chargebee object; charges and non-recurring addons are ``one_time``.
    """
    model = price.get("pricing_model") or "flat_fee"
    unit = price.get("period_unit")
    recurring = unit is not None and price.get("item_type") != "charge" and price.get("charge_type") != "non_recurring"
    problems: list[str] = []
    tiers, tier_problems = [], []
    for tier in price.get("tiers") or []:
        row_tier, problem = _tier(tier, model)
        tiers.append(row_tier)
        if problem:
            tier_problems.append(problem)
    problems += sorted(set(tier_problems))
    amount = price.get("price")
    row = {
        "provider": PROVIDER,
        "id": price["id"],
        "product_id": price.get("item_id") or price["id"],
        "product_name": product_name or price.get("name"),
        "nickname": price.get("external_name") or price.get("name"),
        "type": "recurring" if recurring else "one_time",
        "currency": currency_of(price),
        "billing_scheme": "tiered" if model in _TIERED_MODE else "per_unit",
        "unit_amount_minor": amount if model not in _TIERED_MODE else None,
        "unit_amount_decimal": (decimal_text(price.get("price_in_decimal", amount))
                                if model not in _TIERED_MODE else None),
        "tiers_mode": _TIERED_MODE.get(model),
        "tiers": canonical_json(tiers) if tiers else None,
        "transform_divide_by": None,
        "transform_round": None,
        "interval": unit if recurring else None,
        "interval_count": int(price.get("period") or 1) if recurring else None,
        "usage_type": "metered" if metered else "licensed",
        # Chargebee sets tax inclusivity per site and invoice (`price_type`), not per price.
        "tax_behavior": "unspecified",
        "active": int(price.get("status", "active") == "active"),
    }
    if model not in ("flat_fee", "per_unit", *_TIERED_MODE):
        problems.append(f"unknown pricing model {model}")
    elif model in _TIERED_MODE and not tiers:
        problems.append(f"{model} price without tiers")
    elif model not in _TIERED_MODE and amount is None and price.get("price_in_decimal") is None:
        problems.append("price has neither price nor tiers")
    if unit is not None and unit not in KNOWN_PERIOD_UNITS:
        problems.append(f"unknown billing period unit {unit}")
    return row, [unclassified(kind, price["id"], "", reason, None, row["currency"]) for reason in problems]


_DURATION = {"forever": "forever", "limited_period": "repeating", "one_time": "once"}
_MONTHS_PER = {"month": 1, "year": 12}


def discount_terms(terms: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Neutral discount columns from a coupon or a subscription discount; and why unclassified, if so.

    Coupons say ``discount_type``/``discount_percentage``/``discount_amount``;
    subscription discounts say ``type``/``percentage``/``amount``. A limited
    period is ``duration_month`` or ``period`` × ``period_unit`` in months.
    """
    kind = terms.get("discount_type") or terms.get("type")
    duration = _DURATION.get(terms.get("duration_type") or "")
    months = terms.get("duration_month")
    problem = None
    if months is None and terms.get("period") is not None:
        per = _MONTHS_PER.get(terms.get("period_unit") or "")
        months = int(terms["period"]) * per if per else None
        if per is None:
            problem = f"limited period in {terms.get('period_unit')}s"
    percent = terms.get("discount_percentage", terms.get("percentage"))
    amount = terms.get("discount_amount", terms.get("amount"))
    if kind not in ("percentage", "fixed_amount"):
        problem = f"discount type {kind}"
    if duration is None:
        problem = f"unknown duration type {terms.get('duration_type')}"
    return {
        "duration": duration,
        "duration_in_months": months if duration == "repeating" else None,
        "percent_off": decimal_text(percent) if kind == "percentage" else None,
        "amount_off_minor": amount if kind == "fixed_amount" else None,
        "currency": currency_of(terms) if kind == "fixed_amount" else None,
    }, problem
