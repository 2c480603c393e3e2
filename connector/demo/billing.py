"""Invoice arithmetic for the demo account: lines, discounts, taxes and totals.

All money is integer minor units. Rounding is half to even on exact fractions
(connector.mrr.model.round_half_even), once per line and per tax.

* A line's ``amount`` is quantity × price for its ``period`` before discounts; for a
  tax-inclusive price it includes the tax. Prorations are separate lines with
  ``parent.subscription_item_details.proration = true``.
* Discounts: a percent-off coupon takes that share of each positive discountable
  line; an amount-off coupon is spread over the positive discountable lines in
  proportion to their amounts (largest remainder, so the parts add up exactly),
  capped at their sum. Each line lists them in ``discount_amounts``.
* Taxes are computed on the discounted amount: exclusive ``base × rate`` added on
  top; inclusive ``base × rate / (1 + rate)`` carved out of the line.
* total = subtotal − discounts + exclusive taxes; total_excluding_tax = total − all taxes.
"""

from __future__ import annotations

from fractions import Fraction

from ..mrr.model import round_half_even

EMBEDDED_LIST_LIMIT = 10


def allocate_amount_off(amount_off: int, bases: list[int]) -> list[int]:
    """Split ``amount_off`` over positive ``bases`` proportionally; parts sum exactly."""
    positive_total = sum(b for b in bases if b > 0)
    if positive_total <= 0:
        return [0] * len(bases)
    to_allocate = min(amount_off, positive_total)
    exact = [Fraction(to_allocate * b, positive_total) if b > 0 else Fraction(0) for b in bases]
    parts = [int(e) for e in exact]
    leftover = to_allocate - sum(parts)
    order = sorted(range(len(bases)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return parts


def _item_of(line: dict) -> str | None:
    return ((line.get("parent") or {}).get("subscription_item_details") or {}).get("subscription_item")


def line_discounts(lines: list[dict], discounts: list[tuple[str, dict, str | None]]) -> None:
    """Fill ``discount_amounts``/``discounts`` of each line, coupons applied in order.

    A discount is ``(id, coupon, subscription item or None)``: an item's discount
    takes only from that item's lines, a subscription's from every line.
    """
    for line in lines:
        line["discount_amounts"] = []
        line["discounts"] = []
    for discount_id, coupon, item_id in discounts:
        remaining = [line["amount"] - sum(d["amount"] for d in line["discount_amounts"])
                     if line["discountable"] and item_id in (None, _item_of(line)) else 0 for line in lines]
        if coupon["percent_off"] is not None:
            parts = [
                round_half_even(Fraction(base) * Fraction(str(coupon["percent_off"])) / 100) if base > 0 else 0
                for base in remaining
            ]
        else:
            parts = allocate_amount_off(coupon["amount_off"], remaining)
        for index, part in enumerate(parts):
            if lines[index]["discountable"] and item_id in (None, _item_of(lines[index])):
                lines[index]["discount_amounts"].append({"amount": part, "discount": discount_id})
                lines[index]["discounts"].append(discount_id)


def line_taxes(line: dict, tax_rate_id: str | None, rate_bps: int, behavior: str) -> None:
    if tax_rate_id is None:
        line["taxes"] = []
        return
    base = line["amount"] - sum(d["amount"] for d in line["discount_amounts"])
    if behavior == "inclusive":
        tax = round_half_even(Fraction(base * rate_bps, 10_000 + rate_bps))
        taxable = base - tax
    else:
        tax = round_half_even(Fraction(base * rate_bps, 10_000))
        taxable = base
    line["taxes"] = [{
        "amount": tax, "tax_behavior": behavior, "tax_rate_details": {"tax_rate": tax_rate_id},
        "taxability_reason": "standard_rated", "taxable_amount": taxable, "type": "tax_rate_details",
    }]


def invoice_totals(lines: list[dict]) -> dict:
    subtotal = sum(line["amount"] for line in lines)
    discount_by_id: dict[str, int] = {}
    taxes: dict[tuple, list[int]] = {}
    for line in lines:
        for part in line["discount_amounts"]:
            discount_by_id[part["discount"]] = discount_by_id.get(part["discount"], 0) + part["amount"]
        for tax in line["taxes"]:
            key = (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"])
            bucket = taxes.setdefault(key, [0, 0])
            bucket[0] += tax["amount"]
            bucket[1] += tax["taxable_amount"]
    exclusive = sum(v[0] for (_, behavior), v in taxes.items() if behavior == "exclusive")
    inclusive = sum(v[0] for (_, behavior), v in taxes.items() if behavior == "inclusive")
    total = subtotal - sum(discount_by_id.values()) + exclusive
    return {
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal - inclusive,
        "total": total,
        "total_excluding_tax": total - exclusive - inclusive,
        "total_discount_amounts": [{"amount": a, "discount": d} for d, a in discount_by_id.items()],
        "total_taxes": [
            {"amount": amount, "tax_behavior": behavior, "tax_rate_details": {"tax_rate": rate},
             "taxability_reason": "standard_rated", "taxable_amount": taxable, "type": "tax_rate_details"}
            for (rate, behavior), (amount, taxable) in taxes.items()
        ],
    }


def embedded_list(items: list, url: str) -> dict:
    """Stripe's embedded sub-list: the first ten entries and whether more exist (no count:
    Stripe's definitions of a list have none)."""
    return {"object": "list", "data": items[:EMBEDDED_LIST_LIMIT], "has_more": len(items) > EMBEDDED_LIST_LIMIT,
            "url": url}
