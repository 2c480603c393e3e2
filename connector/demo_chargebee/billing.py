"""The fake site's billing history: invoices, payments, refunds, credit notes, unbilled charges, events.

One invoice per billed term of every subscription that started, priced the way
Chargebee prices (flat fee, per unit, tiered, volume, stairstep), with
document- and item-level coupons, manual discounts, exclusive and inclusive
taxes, setup charges on the first invoice, and the dunning states
(``payment_due``, ``not_paid``). Arithmetic is integer minor units, half-up.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .events import events_for
from .periods import DAY, add_period

BIG_INVOICE_LINES = 130  # more than one embedded batch of line items: completion must fetch the rest


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def price_amount(price: dict[str, Any], quantity: int) -> int:
    """What ``quantity`` units cost under the price's pricing model, in minor units."""
    model = price["pricing_model"]
    if model == "flat_fee":
        return price["price"]
    if model == "per_unit":
        return price["price"] * quantity
    tiers = price["tiers"]
    if model == "tiered":
        total = 0
        for tier in tiers:
            top = tier.get("ending_unit", quantity)
            used = max(0, min(quantity, top) - tier["starting_unit"] + 1)
            total += used * tier["price"]
        return total
    for tier in tiers:
        if quantity <= tier.get("ending_unit", quantity):
            return tier["price"] * quantity if model == "volume" else tier["price"]
    return 0


class _Numbers:
    def __init__(self) -> None:
        self.invoice = 1000
        self.line = 0
        self.txn = 0
        self.credit_note = 0

    def next(self, kind: str) -> int:
        setattr(self, kind, getattr(self, kind) + 1)
        return getattr(self, kind)


def _line(n: _Numbers, sub: dict, customer_id: str, price: dict, quantity: int, start: int, end: int,
          amount: int | None = None) -> dict[str, Any]:
    amount = price_amount(price, quantity) if amount is None else amount
    entity = {"plan": "plan_item_price", "addon": "addon_item_price", "charge": "charge_item_price"}[price["item_type"]]
    return {
        "id": f"li_{n.next('line'):06d}", "subscription_id": sub["id"], "date_from": start, "date_to": end,
        "unit_amount": amount // quantity if quantity else 0, "quantity": quantity, "amount": amount,
        "pricing_model": price["pricing_model"], "is_taxed": False, "tax_amount": 0, "discount_amount": 0,
        "item_level_discount_amount": 0, "description": price["name"], "entity_type": entity,
        "entity_id": price["id"], "customer_id": customer_id, "metered": price["pricing_model"] == "tiered",
        "object": "line_item",
    }


def _discounts(sub: dict, coupons: dict, lines: list[dict], period_start: int, first: bool, inv: dict) -> None:
    """Apply the subscription's coupons and manual discounts to ``lines`` (in Chargebee's order)."""
    applied: list[tuple[str, str, Decimal | None, int | None, bool]] = []  # (entity type, id, pct, amount, item level)
    for entry in sub.get("coupons", []):
        coupon = coupons[entry["coupon_id"]]
        if coupon["duration_type"] == "one_time" and not first:
            continue
        if entry.get("apply_till") is not None and period_start >= entry["apply_till"]:
            continue
        item_level = coupon["apply_on"] == "each_specified_item"
        kind = "item_level_coupon" if item_level else "document_level_coupon"
        pct = Decimal(str(coupon["discount_percentage"])) if coupon["discount_type"] == "percentage" else None
        applied.append((kind, coupon["id"], pct, coupon.get("discount_amount"), item_level))
    for discount in sub.get("discounts", []):
        applied.append(("document_level_discount", discount["id"], None, discount["amount"], False))
    inv["line_item_discounts"], inv["discounts"] = [], []
    for kind, entity_id, pct, amount_off, item_level in applied:
        targets = [l for l in lines if l["entity_type"] == "plan_item_price"] if item_level else lines
        total_off = 0
        remaining_fixed = amount_off
        for line in targets:
            left = line["amount"] - line["discount_amount"] - line["item_level_discount_amount"]
            off = _round(Decimal(left) * pct / 100) if pct is not None else min(left, remaining_fixed or 0)
            if amount_off is not None and pct is None:
                remaining_fixed -= off
            if off <= 0:
                continue
            if item_level:
                line["item_level_discount_amount"] += off
            else:
                line["discount_amount"] += off
            total_off += off
            inv["line_item_discounts"].append({"line_item_id": line["id"], "discount_type": kind,
                                               "coupon_id": entity_id if "coupon" in kind else None,
                                               "entity_id": entity_id, "discount_amount": off,
                                               "object": "line_item_discount"})
        if total_off:
            inv["discounts"].append({"amount": total_off, "description": entity_id, "entity_type": kind,
                                     "entity_id": entity_id, "object": "discount"})
    for entry in inv["line_item_discounts"]:
        if entry["coupon_id"] is None:
            del entry["coupon_id"]


def _taxes(lines: list[dict], inv: dict, tax: tuple[str, str] | None) -> int:
    inv["line_item_taxes"], inv["taxes"] = [], []
    if tax is None:
        inv["price_type"] = "tax_exclusive"
        return 0
    mode, rate_text = tax
    rate = Decimal(rate_text)
    inv["price_type"] = f"tax_{mode}"
    total = 0
    for line in lines:
        taxable = line["amount"] - line["discount_amount"] - line["item_level_discount_amount"]
        if mode == "exclusive":
            amount = _round(Decimal(taxable) * rate / 100)
        else:
            amount = taxable - _round(Decimal(taxable) * 100 / (100 + rate))
        line.update(is_taxed=True, tax_amount=amount, tax_rate=float(rate))
        total += amount
        inv["line_item_taxes"].append({
            "line_item_id": line["id"], "tax_name": "VAT" if mode == "inclusive" else "Sales tax",
            "tax_rate": float(rate), "taxable_amount": taxable - (amount if mode == "inclusive" else 0),
            "tax_amount": amount, "tax_juris_type": "country" if mode == "inclusive" else "state",
            "tax_juris_name": "Germany" if mode == "inclusive" else "Texas", "object": "line_item_tax",
        })
    if total:
        inv["taxes"].append({"name": "VAT" if mode == "inclusive" else "Sales tax", "amount": total,
                             "object": "tax"})
    return total


def _terms(sub: dict, now: int) -> list[tuple[int, int]]:
    """(start, end) of every term billed so far."""
    if sub["status"] in ("future", "in_trial"):
        return []
    period, unit = sub["billing_period"], sub["billing_period_unit"]
    start, terms = sub["started_at"], []
    stop = sub.get("cancelled_at") if sub["status"] == "cancelled" else now
    while start <= now and start < stop:
        end = add_period(start, period, unit)
        terms.append((start, end))
        if sub["status"] == "paused" and end > sub.get("pause_date", end):
            break
        start = end
    return terms


def _invoice(n: _Numbers, sub: dict, lines: list[dict], date: int, tax: tuple | None, coupons: dict,
             first: bool) -> dict[str, Any]:
    inv: dict[str, Any] = {
        "id": str(n.next("invoice")), "customer_id": sub["customer_id"], "subscription_id": sub["id"],
        "recurring": True, "status": "paid", "date": date, "due_date": date, "net_term_days": 0,
        "exchange_rate": 1.0, "currency_code": sub["currency_code"], "amount_adjusted": 0,
        "write_off_amount": 0, "credits_applied": 0, "first_invoice": first, "has_advance_charges": False,
        "term_finalized": True, "is_gifted": False, "generated_at": date, "channel": "web",
        "deleted": False, "object": "invoice", "line_items": lines,
    }
    _discounts(sub, coupons, lines, lines[0]["date_from"] if lines else date, first, inv)
    tax = _taxes(lines, inv, tax)
    sub_total = sum(l["amount"] for l in lines)
    off = sum(d["amount"] for d in inv["discounts"])
    total = sub_total - off + (tax if inv["price_type"] == "tax_exclusive" else 0)
    inv.update(sub_total=sub_total, tax=tax, total=total, amount_paid=total, amount_due=0, paid_at=date + 60)
    inv["updated_at"] = date + 60
    inv["resource_version"] = inv["updated_at"] * 1000
    return inv


def _mark_unpaid(inv: dict, status: str) -> None:
    inv.update(status=status, amount_paid=0, amount_due=inv["total"],
               dunning_status="in_progress" if status == "payment_due" else "exhausted")
    inv.pop("paid_at")


def bill_site(site, rng: random.Random, prices: dict[str, dict], *, now: int) -> None:
    """Fill ``site.objects`` with invoices, transactions, credit notes, unbilled charges and events."""
    from .payments import payment_for, refund_for  # payments and refunds are one concept apart

    coupons = {c["id"]: c for c in site.objects["coupons"]}
    n = _Numbers()
    invoices, transactions, credit_notes, unbilled = [], [], [], []
    for sub in site.objects["subscriptions"]:
        extras = sub["_extras"]
        terms = _terms(sub, now)
        sub_invoices = []
        for index, (start, end) in enumerate(terms):
            lines = []
            for item in sub["subscription_items"]:
                price = prices[item["item_price_id"]]
                if price["item_type"] == "charge":
                    if index == 0:
                        lines.append(_line(n, sub, sub["customer_id"], price, 1, start, start))
                    continue
                quantity = item.get("quantity", 1)
                if price["pricing_model"] == "tiered":   # metered usage, billed in arrears
                    quantity = 800 + rng.randrange(0, 12_000)
                lines.append(_line(n, sub, sub["customer_id"], price, quantity, start, end))
            sub_invoices.append(_invoice(n, sub, lines, start, extras.get("tax"), coupons, index == 0))
        if extras.get("big_invoice") and terms and not any(i.get("_big") for i in invoices):
            price = prices["api-calls-USD-monthly"]
            day0 = terms[-1][0]
            lines = [_line(n, sub, sub["customer_id"], price, 1, day0 + d * 3600, day0 + (d + 1) * 3600, amount=7)
                     for d in range(BIG_INVOICE_LINES)]
            big = _invoice(n, sub, lines, day0 + 2 * DAY, None, {}, False)
            big["recurring"] = False
            big["_big"] = True
            sub_invoices.append(big)
        if extras.get("dunning") and len(sub_invoices) >= 2:
            _mark_unpaid(sub_invoices[-2], "not_paid")
            _mark_unpaid(sub_invoices[-1], "payment_due")
            sub["due_invoices_count"] = 2
            sub["due_since"] = sub_invoices[-2]["date"]
            sub["total_dues"] = sub_invoices[-2]["total"] + sub_invoices[-1]["total"]
        for inv in sub_invoices:
            txn = payment_for(n, inv, rng)
            if txn is not None:
                transactions.append(txn)
        if extras.get("refund") and sub_invoices:
            last = sub_invoices[-1]
            payment = next(t for t in transactions if t["type"] == "payment" and t["linked_invoices"][0]["invoice_id"] == last["id"])
            note, refund = refund_for(n, last, payment)
            credit_notes.append(note)
            transactions.append(refund)
        if extras.get("unbilled") and sub.get("current_term_start"):
            price = prices["api-calls-USD-monthly"]
            quantity = 2400
            unbilled.append({
                "id": f"uc_{sub['id'][3:]}", "customer_id": sub["customer_id"], "subscription_id": sub["id"],
                "date_from": sub["current_term_start"], "date_to": now, "unit_amount": 0,
                "pricing_model": "tiered", "quantity": quantity, "amount": price_amount(price, quantity),
                "currency_code": "USD", "discount_amount": 0, "description": price["name"],
                "entity_type": "addon_item_price", "entity_id": price["id"], "is_voided": False,
                "created_at": now - DAY, "updated_at": now - DAY, "is_advance_charge": False,
                "deleted": False, "object": "unbilled_charge",
            })
        if sub_invoices:
            sub["updated_at"] = max(i["updated_at"] for i in sub_invoices)
        invoices.extend(sub_invoices)
        sub.setdefault("updated_at", sub["created_at"])
        sub["resource_version"] = sub["updated_at"] * 1000
    for inv in invoices:
        inv.pop("_big", None)
    site.objects["invoices"] = sorted(invoices, key=lambda i: (i["date"], i["id"]))
    site.objects["transactions"] = sorted(transactions, key=lambda t: (t["date"], t["id"]))
    site.objects["credit_notes"] = sorted(credit_notes, key=lambda c: (c["date"], c["id"]))
    site.objects["unbilled_charges"] = unbilled
    site.objects["events"] = events_for(site)
