"""Stripe objects → neutral rows (pure functions: plain dicts in, plain rows out).

``map_customer`` turns everything one customer owns into the rows of every
per-customer neutral table (prices are stripe_plans.py's). Anything not
recognised becomes a ``billing_unclassified`` row next to the row that is still
written: never dropped, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..store import canonical_json
from ..values import epoch_to_date
from .schema import country_code
from .stripe_plans import PROVIDER, unclassified
from .stripe_shapes import (
    credit_note_refunds, decimal_text, dig, discount_coupon, discounts_on, invoice_payment_refs, invoice_subscription,
    invoice_tax, is_mapping, line_discount_amounts, line_origin, line_price, line_taxes, list_data, ref, tax_rates,
)

KNOWN_SUBSCRIPTION_STATUSES = frozenset({
    "active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired", "trialing", "paused",
})
KNOWN_INVOICE_STATUSES = frozenset({"draft", "open", "paid", "uncollectible", "void"})


def day_text(epoch: int | None) -> str | None:
    """The UTC day of an epoch; OutOfRange (a ValueError) past year 9999."""
    if epoch is None:
        return None
    return epoch_to_date(epoch).isoformat()


def _amount_off(terms: Mapping[str, Any], currency: str | None) -> dict[str, Any]:
    """A coupon's fixed amount off in the currency of what it discounts (``currency_options``
    hold the amounts of multi-currency coupons), else in its own currency."""
    own = (terms.get("currency") or "").lower() or None
    option = (terms.get("currency_options") or {}).get((currency or "").lower()) or {}
    if terms.get("amount_off") is not None and currency and own != currency.lower() and option.get("amount_off") is not None:
        return {"amount_off_minor": option["amount_off"], "currency": currency.lower()}
    return {"amount_off_minor": terms.get("amount_off"), "currency": own}


def _list_amount(items: list[Mapping[str, Any]]) -> int | None:
    """Per-unit price × quantity over items, for reporting what an unclassified object is worth."""
    total = 0
    for item in items:
        price = item.get("price") or item.get("plan") or {}
        unit = price.get("unit_amount", price.get("amount")) if is_mapping(price) else None
        if unit is None:
            return None
        total += int(unit) * int(item.get("quantity") or 1)
    return total


# ---- one customer -------------------------------------------------------------

@dataclass
class CustomerRaw:
    """Everything one customer owns in the raw store (live rows only)."""

    customer_id: str
    customer: Mapping[str, Any] | None = None
    subscriptions: list[Mapping[str, Any]] = field(default_factory=list)
    subscription_items: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)   # by subscription
    invoices: list[Mapping[str, Any]] = field(default_factory=list)
    invoice_lines: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)         # by invoice
    invoice_payments: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)      # by invoice
    charges: list[Mapping[str, Any]] = field(default_factory=list)
    refunds: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)               # by charge
    credit_notes: list[Mapping[str, Any]] = field(default_factory=list)
    subscription_events: list[Mapping[str, Any]] = field(default_factory=list)   # customer.subscription.updated


@dataclass
class CustomerRows:
    tables: dict[str, list[dict[str, Any]]]
    unclassified: list[dict[str, Any]]
    embedded_prices: dict[str, Mapping[str, Any]]   # prices seen expanded inside subscriptions/lines


Lookup = Callable[[str], Mapping[str, Any] | None]


class _CustomerMapper:
    def __init__(self, raw: CustomerRaw, coupon: Lookup, price: Lookup):
        self.raw = raw
        self.cid = raw.customer_id
        self.coupon_lookup = coupon
        self.price_lookup = price
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in (
            "billing_customers", "billing_subscriptions", "billing_subscription_items", "billing_discounts",
            "billing_invoices", "billing_invoice_lines", "billing_refunds", "billing_credit_notes",
            "billing_subscription_changes",
        )}
        self.unclassified: list[dict[str, Any]] = []
        self.embedded_prices: dict[str, Mapping[str, Any]] = {}
        self.discounts: dict[str, dict[str, Any]] = {}
        self.placeholders: set[str] = set()
        self.discount_taken: dict[str, tuple[int, str | None]] = {}   # discount id -> (amount off lines, currency)

    def flag(self, object_type: str, object_id: str, reason: str, amount: int | None = None,
             currency: str | None = None) -> None:
        self.unclassified.append(unclassified(object_type, object_id, self.cid, reason, amount, currency))

    def note_price(self, price: Any) -> str | None:
        if is_mapping(price) and price.get("id"):
            self.embedded_prices.setdefault(price["id"], price)
        return ref(price)

    def price_of(self, price_id: str | None) -> Mapping[str, Any] | None:
        if price_id is None:
            return None
        return self.price_lookup(price_id) or self.embedded_prices.get(price_id)

    # -- discounts: one row per discount id, first seen on the most specific owner wins
    def discount_id(self, discount: Any, owner: Mapping[str, Any]) -> str | None:
        if not is_mapping(discount):
            # An id only: a placeholder row until the expanded object turns up elsewhere.
            if discount and discount not in self.discounts:
                self.discounts[discount] = self._discount_row(discount, {"id": discount}, None, owner)
                self.placeholders.add(discount)
            return discount
        coupon_id = ref(discount_coupon(discount))
        discount_id = discount.get("id") or f"{owner.get('id')}:{coupon_id}"
        if discount_id in self.discounts and discount_id not in self.placeholders:
            return discount_id
        self.placeholders.discard(discount_id)
        coupon = discount_coupon(discount)
        terms = self.coupon_lookup(coupon_id) if coupon_id else None
        if terms is None and is_mapping(coupon):
            terms = coupon
        self.discounts[discount_id] = self._discount_row(discount_id, discount, terms, owner)
        return discount_id

    def _discount_row(self, discount_id: str, discount: Mapping[str, Any], terms: Mapping[str, Any] | None,
                      owner: Mapping[str, Any]) -> dict[str, Any]:
        coupon_id = ref(discount_coupon(discount))
        owner_kind = owner.get("object")
        return {
            "provider": PROVIDER, "id": discount_id, "customer_id": self.cid,
            "subscription_id": ref(discount.get("subscription")) or (owner.get("id") if owner_kind == "subscription" else None),
            "subscription_item_id": ref(discount.get("subscription_item")),
            "invoice_id": ref(discount.get("invoice")) or (owner.get("id") if owner_kind == "invoice" else None),
            "coupon_id": coupon_id,
            "promotion_code_id": ref(discount.get("promotion_code")),
            "duration": (terms or {}).get("duration"),
            "duration_in_months": (terms or {}).get("duration_in_months"),
            "percent_off": decimal_text((terms or {}).get("percent_off")),
            **_amount_off(terms or {}, owner.get("currency")),
            "start_at": discount.get("start"),
            "end_at": discount.get("end"),
        }

    def discount_ids(self, owner: Mapping[str, Any]) -> list[str]:
        return [d for d in (self.discount_id(x, owner) for x in discounts_on(owner)) if d]

    # -- objects
    def customer(self) -> None:
        obj = self.raw.customer
        if obj is None:
            return
        self.discount_ids(obj)
        self.tables["billing_customers"].append({
            "provider": PROVIDER, "id": self.cid, "customer_id": self.cid, "email": obj.get("email"),
            "name": obj.get("name"), "currency": obj.get("currency"), "created_at": obj.get("created"),
            "country": country_code(obj.get("address")),
        })

    def subscription(self, sub: Mapping[str, Any]) -> None:
        items = self._items(sub)
        starts = [i.get("current_period_start") or sub.get("current_period_start") for i in items]
        ends = [i.get("current_period_end") or sub.get("current_period_end") for i in items]
        pause = sub.get("pause_collection") or {}
        status = sub.get("status")
        if status not in KNOWN_SUBSCRIPTION_STATUSES:
            self.flag("subscription", sub["id"], f"unknown subscription status {status!r}",
                      _list_amount(items), sub.get("currency"))
        self.tables["billing_subscriptions"].append({
            "provider": PROVIDER, "id": sub["id"], "customer_id": self.cid, "status": status,
            "currency": sub.get("currency"), "created_at": sub.get("created"), "start_at": sub.get("start_date"),
            "trial_start_at": sub.get("trial_start"), "trial_end_at": sub.get("trial_end"),
            "current_period_start_at": min((s for s in starts if s is not None), default=sub.get("current_period_start")),
            "current_period_end_at": max((e for e in ends if e is not None), default=sub.get("current_period_end")),
            "cancel_at_period_end": int(bool(sub.get("cancel_at_period_end"))),
            "cancel_at": sub.get("cancel_at"), "canceled_at": sub.get("canceled_at"), "ended_at": sub.get("ended_at"),
            "pause_behavior": pause.get("behavior"), "pause_resumes_at": pause.get("resumes_at"),
            "collection_method": sub.get("collection_method"),
            "discount_ids": json.dumps(self.discount_ids(sub)),
            "tax_rates": canonical_json(tax_rates(sub, "default_tax_rates")),
            "billing_cycle_anchor_at": sub.get("billing_cycle_anchor"),
        })
        self.schedule_phases(sub, items)
        for item in items:
            price_id = self.note_price(item.get("price") or item.get("plan"))
            if self.price_of(price_id) is None:
                self.flag("subscription_item", item["id"], "price not found", None, sub.get("currency"))
            self.tables["billing_subscription_items"].append({
                "provider": PROVIDER, "id": item["id"], "customer_id": self.cid, "subscription_id": sub["id"],
                "plan_id": price_id, "quantity": item.get("quantity"),
                "current_period_start_at": item.get("current_period_start") or sub.get("current_period_start"),
                "current_period_end_at": item.get("current_period_end") or sub.get("current_period_end"),
                "created_at": item.get("created"),
                "discount_ids": json.dumps(self.discount_ids(item)),
                "tax_rates": canonical_json(tax_rates(item, "tax_rates")),
            })

    def schedule_phases(self, sub: Mapping[str, Any], items: list[Mapping[str, Any]]) -> None:
        """The phases of the subscription's schedule (when ``schedule`` came expanded) as dated changes:
        a phase takes its items' prices and quantities at its ``start_date``, a date Stripe keeps for as
        long as the schedule is attached (events are gone after 30 days). A phase's item is matched to
        the live item of its price; a phase whose prices no live item has dates nothing."""
        schedule = sub.get("schedule")
        if not is_mapping(schedule):
            return
        by_price = {ref(i.get("price") or i.get("plan")): i for i in items}
        for number, phase in enumerate(list_data(schedule.get("phases"))):
            for entry in list_data(phase.get("items")):
                live = by_price.get(ref(entry.get("price") or entry.get("plan")))
                if live is None or phase.get("start_date") is None:
                    continue
                self.tables["billing_subscription_changes"].append({
                    "provider": PROVIDER, "id": f"{schedule.get('id')}:phase{number}:{live['id']}",
                    "customer_id": self.cid, "event_id": None, "subscription_id": sub["id"],
                    "subscription_item_id": live["id"], "changed_at": phase["start_date"],
                    "plan_id": ref(entry.get("price") or entry.get("plan")), "quantity": entry.get("quantity"),
                    "previous_plan_id": None, "previous_quantity": None, "status": None, "previous_status": None,
                })

    def _items(self, sub: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        embedded = sub.get("items")
        listed = list_data(embedded)
        if is_mapping(embedded) and not embedded.get("has_more") and listed:
            return sorted(listed, key=lambda i: i["id"])   # the subscription's own list is authoritative
        by_id = {i["id"]: i for i in listed}
        by_id.update({i["id"]: i for i in self.raw.subscription_items.get(sub["id"], [])})
        return [by_id[k] for k in sorted(by_id)]

    def invoice(self, invoice: Mapping[str, Any], refunded: int, credited: int) -> None:
        status = invoice.get("status")
        if status not in KNOWN_INVOICE_STATUSES:
            self.flag("invoice", invoice["id"], f"unknown invoice status {status!r}", invoice.get("total"), invoice.get("currency"))
        self.discount_ids(invoice)
        discount = sum(int(d.get("amount") or 0) for d in list_data(invoice.get("total_discount_amounts")))
        self.tables["billing_invoices"].append({
            "provider": PROVIDER, "id": invoice["id"], "customer_id": self.cid,
            "subscription_id": invoice_subscription(invoice), "status": status,
            "billing_reason": invoice.get("billing_reason"), "currency": invoice.get("currency"),
            "created_at": invoice.get("created"),
            "period_start_at": invoice.get("period_start"), "period_end_at": invoice.get("period_end"),
            "subtotal_minor": invoice.get("subtotal"), "discount_minor": discount, "tax_minor": invoice_tax(invoice),
            "total_excluding_tax_minor": invoice.get("total_excluding_tax"), "total_minor": invoice.get("total"),
            "amount_paid_minor": invoice.get("amount_paid"),
            "amount_refunded_minor": refunded, "amount_credited_minor": credited,
        })
        lines = {line["id"]: line for line in list_data(invoice.get("lines"))}
        lines.update({line["id"]: line for line in self.raw.invoice_lines.get(invoice["id"], [])})
        for line_id in sorted(lines):
            self.line(invoice, lines[line_id])

    def line(self, invoice: Mapping[str, Any], line: Mapping[str, Any]) -> None:
        origin = line_origin(line)
        price_id = self.note_price(line_price(line))
        price = self.price_of(price_id)
        recurring = (price or {}).get("recurring") or {}
        interval = recurring.get("interval") or (price or {}).get("interval")
        usage_type = recurring.get("usage_type") or (price or {}).get("usage_type")
        currency = line.get("currency") or invoice.get("currency")
        amount = int(line.get("amount") or 0)
        if origin.from_subscription is None:
            kind = "unknown"
            self.flag("invoice_line", line["id"], "line of unknown origin", amount, currency)
        elif origin.proration:
            kind = "proration"
        elif usage_type == "metered":
            kind = "usage"
        elif origin.from_subscription and (interval or price is None):
            kind = "recurring"
            if price is None:
                self.flag("invoice_line", line["id"], "subscription line whose price is not found", amount, currency)
        else:
            kind = "one_time"
        period = line.get("period") or {}
        if kind in ("recurring", "usage") and (period.get("start") is None or period.get("end") is None):
            self.flag("invoice_line", line["id"], "recurring line without a service period", amount, currency)
        tax, tax_inclusive = line_taxes(line)
        discounts = line_discount_amounts(line)
        for entry in list_data(line.get("discounts")):
            self.discount_id(entry, invoice)
        discount = sum(d["amount"] for d in discounts)
        for entry in discounts:
            taken, _ = self.discount_taken.get(entry["discount"], (0, currency))
            self.discount_taken[entry["discount"]] = (taken + entry["amount"], currency)
        self.tables["billing_invoice_lines"].append({
            "provider": PROVIDER, "id": line["id"], "invoice_id": invoice["id"], "customer_id": self.cid,
            "subscription_id": origin.subscription_id or invoice_subscription(invoice),
            "subscription_item_id": origin.subscription_item_id, "plan_id": price_id, "kind": kind,
            "quantity": line.get("quantity"), "currency": currency,
            "amount_minor": amount, "discount_minor": discount, "tax_minor": tax,
            "tax_inclusive_minor": tax_inclusive, "net_minor": amount - discount - tax_inclusive,
            "discount_amounts": canonical_json(discounts) if discounts else "[]",
            "period_start_at": period.get("start"), "period_end_at": period.get("end"),
            "service_start_date": day_text(period.get("start")), "service_end_date": day_text(period.get("end")),
        })

    def money_back(self) -> tuple[dict[str, int], dict[str, int]]:
        """(refunded, credited) per invoice id; refunds are also written as rows.

        A refund reaches its invoice through the charge it refunds: the invoice's
        payments name the charge or its payment intent (``charge.invoice`` in
        versions before 2025-03-31.basil), else a credit note carrying the refund.
        """
        by_charge: dict[str, str] = {}
        by_intent: dict[str, str] = {}
        for invoice in sorted(self.raw.invoices, key=lambda i: i["id"]):
            charges, intents = invoice_payment_refs(invoice, self.raw.invoice_payments.get(invoice["id"], []))
            by_charge.update({c: invoice["id"] for c in charges})
            by_intent.update({p: invoice["id"] for p in intents})
        by_refund = {refund_id: ref(note.get("invoice")) for note in sorted(self.raw.credit_notes, key=lambda n: n["id"])
                     for refund_id in credit_note_refunds(note) if ref(note.get("invoice"))}
        refunded: dict[str, int] = {}
        for charge in sorted(self.raw.charges, key=lambda c: c["id"]):
            refunds = self.raw.refunds.get(charge["id"], [])
            invoice_id = (ref(charge.get("invoice")) or by_charge.get(charge["id"])
                          or by_intent.get(ref(charge.get("payment_intent")))
                          or next((by_refund[r["id"]] for r in sorted(refunds, key=lambda r: r["id"])
                                   if r["id"] in by_refund), None))
            live = [r for r in refunds if r.get("status") in ("succeeded", "pending")]
            amount = sum(int(r.get("amount") or 0) for r in live) if refunds else int(charge.get("amount_refunded") or 0)
            if invoice_id:
                refunded[invoice_id] = refunded.get(invoice_id, 0) + amount
            for refund in sorted(refunds, key=lambda r: r["id"]):
                self.tables["billing_refunds"].append({
                    "provider": PROVIDER, "id": refund["id"], "customer_id": self.cid, "charge_id": charge["id"],
                    "invoice_id": invoice_id, "status": refund.get("status"), "currency": refund.get("currency"),
                    "amount_minor": refund.get("amount"), "created_at": refund.get("created"),
                })
        credited: dict[str, int] = {}
        for note in sorted(self.raw.credit_notes, key=lambda n: n["id"]):
            invoice_id = ref(note.get("invoice"))
            if note.get("status") != "void" and invoice_id:
                credited[invoice_id] = credited.get(invoice_id, 0) + int(note.get("total") or 0)
            self.tables["billing_credit_notes"].append({
                "provider": PROVIDER, "id": note["id"], "customer_id": self.cid, "invoice_id": invoice_id,
                "status": note.get("status"), "type": note.get("type"), "reason": note.get("reason"),
                "currency": note.get("currency"), "total_minor": note.get("total"),
                "total_excluding_tax_minor": note.get("total_excluding_tax"), "created_at": note.get("created"),
            })
        return refunded, credited

    def subscription_changes(self, event: Mapping[str, Any]) -> None:
        """Items whose price or quantity an update event changed: when the change happened,
        for changes that left no proration behind (proration_behavior=none)."""
        sub = dig(event, "data", "object") or {}
        before = dig(event, "data", "previous_attributes") or {}
        items = list_data(sub.get("items"))
        if "status" in before and before["status"] != sub.get("status"):
            self.tables["billing_subscription_changes"].append({
                "provider": PROVIDER, "id": f"{event['id']}:status", "customer_id": self.cid,
                "event_id": event["id"], "subscription_id": sub.get("id"), "subscription_item_id": None,
                "changed_at": event.get("created"), "plan_id": None, "quantity": None,
                "previous_plan_id": None, "previous_quantity": None,
                "status": sub.get("status"), "previous_status": before["status"],
            })
        if "items" in before:
            previous = {i.get("id"): i for i in list_data(before["items"])}
        elif "plan" in before or "quantity" in before:     # single-plan subscriptions of old versions
            first = items[0] if items else {}
            previous = {first.get("id"): {"plan": before.get("plan", first.get("plan")),
                                          "quantity": before.get("quantity", first.get("quantity"))}}
        else:
            return
        for item in items:
            was = previous.get(item.get("id"))
            now_plan, now_quantity = ref(item.get("price") or item.get("plan")), item.get("quantity")
            was_plan = ref((was or {}).get("price") or (was or {}).get("plan")) if was else None
            was_quantity = (was or {}).get("quantity") if was else None
            if was is not None and (was_plan, was_quantity) == (now_plan, now_quantity):
                continue
            self.tables["billing_subscription_changes"].append({
                "provider": PROVIDER, "id": f"{event['id']}:{item['id']}", "customer_id": self.cid,
                "event_id": event["id"], "subscription_id": sub.get("id"), "subscription_item_id": item["id"],
                "changed_at": event.get("created"), "plan_id": now_plan, "quantity": now_quantity,
                "previous_plan_id": was_plan, "previous_quantity": was_quantity,
                "status": None, "previous_status": None,
            })

    def run(self) -> CustomerRows:
        self.customer()
        for sub in sorted(self.raw.subscriptions, key=lambda s: s["id"]):
            self.subscription(sub)
        refunded, credited = self.money_back()
        for invoice in sorted(self.raw.invoices, key=lambda i: i["id"]):
            self.invoice(invoice, refunded.get(invoice["id"], 0), credited.get(invoice["id"], 0))
        for event in sorted(self.raw.subscription_events, key=lambda e: e["id"]):
            self.subscription_changes(event)
        for discount in self.discounts.values():
            if discount["duration"] is None:
                # Counted, with what it took off invoices so far: its MRR effect cannot be known.
                amount, currency = self.discount_taken.get(discount["id"], (None, discount["currency"]))
                self.flag("discount", discount["id"], "discount whose coupon terms are unknown", amount, currency)
        self.tables["billing_discounts"] = [self.discounts[k] for k in sorted(self.discounts)]
        return CustomerRows(self.tables, self.unclassified, self.embedded_prices)


def map_customer(raw: CustomerRaw, coupon: Lookup, price: Lookup) -> CustomerRows:
    """All neutral rows of one customer. ``coupon``/``price`` look up raw objects by id."""
    return _CustomerMapper(raw, coupon, price).run()
