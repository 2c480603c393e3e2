"""What a subscription item costs per billing period: quantity, tiers, inclusive tax, discounts.

Pure functions over neutral rows (``billing_plans``, ``billing_discounts``).
Amounts are exact Fractions of minor units until the one rounding (half to
even, per piece) that ``list_amount`` and ``discount_amounts`` do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

from .model import round_half_even


def _fraction(text: Any) -> Fraction:
    if type(text) is str:
        return _fraction_of_text(text)
    return Fraction(str(text)) if text is not None else Fraction(0)


@lru_cache(maxsize=1024)
def _fraction_of_text(text: str) -> Fraction:
    """A stored decimal text as an exact Fraction, cached (a Fraction is immutable, and parsing the text is
    the dear part: a few dozen prices and rates serve every item and line of an account; an exception is
    raised at each call)."""
    return Fraction(text)


def billed_quantity(plan: Mapping[str, Any], quantity: int) -> int:
    """The quantity after the price's transform (divide_by, rounded up or down)."""
    divide_by = plan.get("transform_divide_by")
    if not divide_by:
        return quantity
    exact = Fraction(quantity, int(divide_by))
    return math.ceil(exact) if plan.get("transform_round") == "up" else math.floor(exact)


def tiered_amount(tiers: Sequence[Mapping[str, Any]], mode: str | None, quantity: int) -> Fraction:
    """Stripe's tier rules: volume prices every unit at the tier the quantity falls in,
    graduated prices each unit at the tier it falls in; flat amounts are per tier used."""
    if mode == "volume":
        for tier in tiers:
            if tier["up_to"] in (None, "inf") or quantity <= int(tier["up_to"]):
                return quantity * _fraction(tier["unit_amount_decimal"]) + _fraction(tier["flat_amount_decimal"])
        return Fraction(0)
    total, lower = Fraction(0), 0
    for tier in tiers:
        upper = None if tier["up_to"] in (None, "inf") else int(tier["up_to"])
        units = quantity - lower if upper is None else min(quantity, upper) - lower
        if units <= 0:
            break
        total += units * _fraction(tier["unit_amount_decimal"]) + _fraction(tier["flat_amount_decimal"])
        if upper is None:
            break
        lower = upper
    return total


def gross_amount(plan: Mapping[str, Any], quantity: int | None) -> Fraction | None:
    """The per-period amount before tax adjustments, or None if the price cannot say."""
    units = billed_quantity(plan, 1 if quantity is None else int(quantity))
    if plan.get("billing_scheme") == "tiered":
        if not plan.get("tiers"):
            return None
        return tiered_amount(json.loads(plan["tiers"]), plan.get("tiers_mode"), units)
    if plan.get("unit_amount_decimal") is None:
        return None
    return units * _fraction(plan["unit_amount_decimal"])


def inclusive_tax_share(rates: Sequence[Mapping[str, Any]]) -> Fraction | None:
    """The net share of an inclusive-tax amount (100/(100+p)), or None with no inclusive rate."""
    inclusive = [_fraction(r["percentage"]) for r in rates if r.get("inclusive")]
    if not inclusive:
        return None
    return Fraction(100) / (100 + sum(inclusive))


def split_line(amount: int, discount: int, net: int) -> tuple[int, int]:
    """(list, discount) excluding tax such that list - discount == net exactly.

    Inclusive tax is computed on the discounted amount, so the net share is
    net / (amount - discount); both parts get it, rounded once.
    """
    billed = amount - discount
    if discount == 0 or billed == 0 or net == billed:
        return net + discount, discount
    list_excl = round_half_even(Fraction(amount) * net / billed)
    return list_excl, list_excl - net


def discount_amounts(
    list_amount: int, item_share: Fraction, discounts: Sequence[Mapping[str, Any]], currency: str
) -> list[tuple[Mapping[str, Any], int]]:
    """Each discount's amount on one item, applied in Stripe's order on what remains.

    ``item_share`` is the item's part of its subscription's list total: a fixed
    amount off is per invoice, spread over the items by their list amounts.
    Discounts in another currency or with unknown terms are left out.
    """
    remaining = Fraction(list_amount)
    out = []
    for discount in discounts:
        if discount.get("percent_off") is not None:
            off = remaining * _fraction(discount["percent_off"]) / 100
        elif discount.get("amount_off_minor") is not None and (discount.get("currency") or currency) == currency:
            off = min(remaining, Fraction(int(discount["amount_off_minor"])) * item_share)
        else:
            continue
        rounded = round_half_even(off)
        remaining -= rounded
        out.append((discount, rounded))
    return out
