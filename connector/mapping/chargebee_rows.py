"""Chargebee objects of one customer → neutral rows (pure functions: plain dicts in, rows out).

The rules, column by column, are in docs/chargebee.md. The ones that differ
most from Stripe:

* statuses: ``in_trial`` → trialing, ``active`` → active, ``non_renewing`` →
  active with the cancellation scheduled (``cancel_at``), ``paused`` → paused,
  ``cancelled`` → canceled, ``future`` (not started) → incomplete. Chargebee
  has no ``past_due``: an active subscription with ``due_invoices_count`` > 0
  is past_due, and unpaid once one of its invoices is ``not_paid`` (dunning
  exhausted).
* cancellation dates: Chargebee's ``cancelled_at`` is when the cancellation
  takes effect (``cancel_at`` while non-renewing, ``ended_at`` once
  cancelled); ``cancel_schedule_created_at`` is when it was asked for
  (``canceled_at``).
* discounts: every coupon and manual discount is a ``billing_discounts`` row,
  but only those Chargebee counts in MRR (``included_in_mrr``) are listed in
  ``discount_ids``, the list the MRR engine applies; item-level coupons
  (``apply_on: each_specified_item``) are listed on the items they constrain.
* charges and setup fees are one-time: invoice lines of kind ``one_time`` and
  no subscription item.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .chargebee_invoices import map_documents
from .chargebee_plans import discount_terms
from .schema import country_code
from .chargebee_shapes import PROVIDER, currency_of, decimal_text, item_row_id, unclassified

Lookup = Callable[[str], Mapping[str, Any] | None]

SUBSCRIPTION_STATUS = {
    "in_trial": "trialing", "active": "active", "non_renewing": "active", "paused": "paused",
    "cancelled": "canceled", "future": "incomplete",
}
TABLES = ("billing_customers", "billing_subscriptions", "billing_subscription_items", "billing_discounts",
          "billing_invoices", "billing_invoice_lines", "billing_refunds", "billing_credit_notes")


@dataclass
class CustomerRaw:
    """Everything one customer owns in the raw store (live rows only)."""

    customer_id: str
    customer: Mapping[str, Any] | None = None
    subscriptions: list[Mapping[str, Any]] = field(default_factory=list)
    invoices: list[Mapping[str, Any]] = field(default_factory=list)
    credit_notes: list[Mapping[str, Any]] = field(default_factory=list)
    transactions: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass
class CustomerRows:
    tables: dict[str, list[dict[str, Any]]]
    unclassified: list[dict[str, Any]]


class _Mapper:
    def __init__(self, raw: CustomerRaw, coupon: Lookup, price: Lookup):
        self.raw, self.cid = raw, raw.customer_id
        self.coupon_lookup, self.price_lookup = coupon, price
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self.unclassified: list[dict[str, Any]] = []

    def flag(self, object_type: str, object_id: str, reason: str, amount: int | None = None,
             currency: str | None = None) -> None:
        self.unclassified.append(unclassified(object_type, object_id, self.cid, reason, amount, currency))

    # ---- customer ------------------------------------------------------------
    def customer(self) -> None:
        c = self.raw.customer
        if c is None:
            return
        name = " ".join(p for p in (c.get("first_name"), c.get("last_name")) if p) or c.get("company")
        self.tables["billing_customers"].append({
            "provider": PROVIDER, "id": c["id"], "customer_id": c["id"], "email": c.get("email"),
            "name": name or None, "currency": (c.get("preferred_currency_code") or "").lower() or None,
            "created_at": c.get("created_at"), "country": country_code(c.get("billing_address")),
        })

    # ---- subscriptions -----------------------------------------------------------
    def _items(self, sub: Mapping[str, Any]) -> list[tuple[str, int | None, Mapping[str, Any]]]:
        """(price id, quantity, raw item) of the recurring items: PC 2.0 items, or PC 1.0 plan and addons."""
        if "subscription_items" in sub:
            return [(i["item_price_id"], i.get("quantity"), i) for i in sub["subscription_items"]
                    if i.get("item_type") != "charge"]
        items = []
        if sub.get("plan_id"):
            items.append((sub["plan_id"], sub.get("plan_quantity"), {"item_type": "plan"}))
        items += [(a["id"], a.get("quantity"), {**a, "item_type": "addon"}) for a in sub.get("addons") or []]
        return items

    def _discount(self, sub: Mapping[str, Any], did: str, terms: Mapping[str, Any], source: str,
                  coupon_id: str | None, end_at: int | None, start_at: int | None) -> None:
        columns, problem = discount_terms(terms)
        if problem:
            self.flag(source, did, problem, None, columns["currency"])
        self.tables["billing_discounts"].append({
            "provider": PROVIDER, "id": did, "customer_id": self.cid, "subscription_id": sub["id"],
            "subscription_item_id": None, "invoice_id": None, "coupon_id": coupon_id, "promotion_code_id": None,
            **columns, "start_at": start_at, "end_at": end_at,
        })

    def _discounts(self, sub: Mapping[str, Any], item_ids: dict[str, tuple[str, Mapping]]) -> tuple[list[str], dict[str, list[str]]]:
        """Rows for the subscription's coupons and discounts; (subscription-level ids, ids per item) that count in MRR."""
        on_sub: list[str] = []
        on_item: dict[str, list[str]] = {}
        start = sub.get("started_at") or sub.get("start_date") or sub.get("created_at")
        for entry in sub.get("coupons") or []:
            coupon = self.coupon_lookup(entry["coupon_id"]) or {}
            did = item_row_id(sub["id"], entry["coupon_id"])
            if not coupon:
                self.flag("coupon", entry["coupon_id"], "coupon not found")
            self._discount(sub, did, coupon or {"duration_type": None}, "coupon", entry["coupon_id"],
                           entry.get("apply_till"), start)
            if not coupon.get("included_in_mrr", False):
                continue
            if coupon.get("apply_on") == "each_specified_item":
                for row_id, (price_id, raw_item) in item_ids.items():
                    if _constrained(coupon, price_id, raw_item.get("item_type")):
                        on_item.setdefault(row_id, []).append(did)
            else:
                on_sub.append(did)
        for discount in sub.get("discounts") or []:
            self._discount(sub, discount["id"], discount, "discount", None, discount.get("apply_till"),
                           discount.get("created_at"))
            if discount.get("included_in_mrr"):
                if discount.get("item_price_id"):
                    on_item.setdefault(item_row_id(sub["id"], discount["item_price_id"]), []).append(discount["id"])
                else:
                    on_sub.append(discount["id"])
        return on_sub, on_item

    def _tax_rates(self, sub_id: str) -> list[dict[str, Any]]:
        """The tax rates of the subscription's latest invoice: Chargebee keeps tax inclusivity there."""
        invoices = [i for i in self.raw.invoices if i.get("subscription_id") == sub_id]
        if not invoices:
            return []
        latest = max(invoices, key=lambda i: (i.get("date") or 0, i["id"]))
        inclusive = latest.get("price_type") == "tax_inclusive"
        rates = sorted({decimal_text(line["tax_rate"]) for line in latest.get("line_items") or []
                        if line.get("tax_rate")})
        return [{"percentage": rate, "inclusive": inclusive} for rate in rates]

    def subscription(self, sub: Mapping[str, Any]) -> None:
        status = sub.get("status")
        neutral = SUBSCRIPTION_STATUS.get(status)
        if neutral is None:
            self.flag("subscription", sub["id"], f"unknown subscription status {status}", None, currency_of(sub))
            neutral = status
        if neutral == "active" and (sub.get("due_invoices_count") or 0) > 0:
            exhausted = any(i.get("status") == "not_paid" for i in self.raw.invoices
                            if i.get("subscription_id") == sub["id"])
            neutral = "unpaid" if exhausted else "past_due"
        cancel_at = canceled_at = ended_at = None
        if status == "non_renewing":
            cancel_at, canceled_at = sub.get("cancelled_at"), sub.get("cancel_schedule_created_at")
        elif status == "cancelled":
            ended_at = sub.get("cancelled_at")
            canceled_at = sub.get("cancel_schedule_created_at") or ended_at
        items = self._items(sub)
        item_ids = {item_row_id(sub["id"], pid): (pid, raw) for pid, _, raw in items}
        on_sub, on_item = self._discounts(sub, item_ids)
        rates = self._tax_rates(sub["id"])
        period = (sub.get("current_term_start"), sub.get("current_term_end"))
        self.tables["billing_subscriptions"].append({
            "provider": PROVIDER, "id": sub["id"], "customer_id": self.cid, "status": neutral,
            "currency": currency_of(sub), "created_at": sub.get("created_at"),
            "start_at": sub.get("started_at") or sub.get("start_date") or sub.get("created_at"),
            "trial_start_at": sub.get("trial_start"), "trial_end_at": sub.get("trial_end"),
            "current_period_start_at": period[0], "current_period_end_at": period[1],
            "cancel_at_period_end": int(cancel_at is not None and cancel_at == period[1]),
            "cancel_at": cancel_at, "canceled_at": canceled_at, "ended_at": ended_at,
            "pause_behavior": None, "pause_resumes_at": sub.get("resume_date") if status == "paused" else None,
            "collection_method": "send_invoice" if sub.get("auto_collection") == "off" else "charge_automatically",
            "discount_ids": json.dumps(on_sub), "tax_rates": json.dumps(rates),
            "billing_cycle_anchor_at": None,   # Chargebee bills from the term start; no separate anchor
        })
        for price_id, quantity, raw in items:
            price = self.price_lookup(price_id)
            if price is None:
                self.flag("subscription_item", item_row_id(sub["id"], price_id), "price not found", None, currency_of(sub))
            flat = (price or {}).get("pricing_model") == "flat_fee"
            row_id = item_row_id(sub["id"], price_id)
            self.tables["billing_subscription_items"].append({
                "provider": PROVIDER, "id": row_id, "customer_id": self.cid, "subscription_id": sub["id"],
                "plan_id": price_id, "quantity": 1 if flat or quantity is None else int(quantity),
                "current_period_start_at": raw.get("current_term_start", period[0]),
                "current_period_end_at": raw.get("current_term_end", period[1]),
                "created_at": sub.get("created_at"), "discount_ids": json.dumps(on_item.get(row_id, [])),
                "tax_rates": json.dumps(rates),
            })

    def run(self) -> CustomerRows:
        self.customer()
        for sub in sorted(self.raw.subscriptions, key=lambda s: s["id"]):
            self.subscription(sub)
        map_documents(self)
        return CustomerRows(self.tables, self.unclassified)


def _constrained(coupon: Mapping[str, Any], price_id: str, item_type: str | None) -> bool:
    """Whether an item-level coupon applies to an item (``item_constraints``; PC 1.0 plan/addon constraints)."""
    constraints = coupon.get("item_constraints")
    if constraints is None:
        if item_type == "plan":
            return coupon.get("plan_constraint", "all") == "all" or price_id in (coupon.get("plan_ids") or [])
        return coupon.get("addon_constraint", "none") == "all" or price_id in (coupon.get("addon_ids") or [])
    for c in constraints:
        if c.get("item_type") == item_type:
            return c.get("constraint") == "all" or price_id in (c.get("item_price_ids") or [])
    return False


def map_customer(raw: CustomerRaw, coupon: Lookup, price: Lookup) -> CustomerRows:
    """All neutral rows of one customer. ``coupon``/``price`` look up raw objects by id."""
    return _Mapper(raw, coupon, price).run()
