"""Small factories of Stripe objects in the pinned API version's shapes (2026-10-28.endive).

The canonical full objects are in fixtures/stripe/*.json; these factories build
the variations each rule needs, keeping only the fields the mapping reads.
"""

from __future__ import annotations

import json
from calendar import timegm
from datetime import date
from pathlib import Path
from typing import Any

from connector.mapping.stripe import map_all, map_changes
from connector.mrr.policy import load_policy
from connector.mrr.segments import build_segments, effective_segments
from connector.store import AccountIdentity

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stripe"
IDENTITY = AccountIdentity("stripe", "acct_test", False, "2026-10-28.endive")


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def ts(day: str) -> int:
    """Epoch seconds at 00:00 UTC of a YYYY-MM-DD day."""
    return timegm(date.fromisoformat(day).timetuple())


def customer(cid: str = "cus_1", **extra: Any) -> dict[str, Any]:
    return {"id": cid, "object": "customer", "email": f"{cid}@example.com", "name": cid, "created": ts("2024-01-01"),
            "currency": "usd", "livemode": False, **extra}


def price(pid: str, unit_amount: int | None, interval: str | None = "month", interval_count: int = 1,
          currency: str = "usd", **extra: Any) -> dict[str, Any]:
    recurring = None
    if interval:
        recurring = {"interval": interval, "interval_count": interval_count,
                     "usage_type": extra.pop("usage_type", "licensed"), "meter": None}
    return {"id": pid, "object": "price", "active": True, "billing_scheme": extra.pop("billing_scheme", "per_unit"),
            "currency": currency, "product": "prod_1", "recurring": recurring,
            "type": "recurring" if interval else "one_time", "unit_amount": unit_amount,
            "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
            "tax_behavior": extra.pop("tax_behavior", "exclusive"), "tiers_mode": None, "transform_quantity": None,
            "created": ts("2024-01-01"), "livemode": False, **extra}


def coupon(cid: str, duration: str = "forever", percent_off: float | None = None, amount_off: int | None = None,
           duration_in_months: int | None = None, currency: str | None = None) -> dict[str, Any]:
    return {"id": cid, "object": "coupon", "duration": duration, "percent_off": percent_off, "amount_off": amount_off,
            "duration_in_months": duration_in_months, "currency": currency, "valid": True,
            "created": ts("2024-01-01"), "livemode": False}


def discount(did: str, coupon_obj: dict[str, Any], start: str, end: str | None = None, *,
             subscription: str | None = "sub_1", customer_id: str = "cus_1") -> dict[str, Any]:
    return {"id": did, "object": "discount", "customer": customer_id, "subscription": subscription,
            "subscription_item": None, "invoice": None, "promotion_code": None,
            "source": {"type": "coupon", "coupon": coupon_obj}, "start": ts(start), "end": ts(end) if end else None}


def item(iid: str, price_obj: dict[str, Any], quantity: int = 1, *, start: str, end: str,
         subscription: str = "sub_1", **extra: Any) -> dict[str, Any]:
    return {"id": iid, "object": "subscription_item", "price": price_obj, "quantity": quantity,
            "subscription": subscription, "current_period_start": ts(start), "current_period_end": ts(end),
            "discounts": [], "tax_rates": [], "created": ts(start), **extra}


def subscription(sid: str = "sub_1", customer_id: str = "cus_1", items: list[dict[str, Any]] = (), *,
                 status: str = "active", currency: str = "usd", **extra: Any) -> dict[str, Any]:
    return {"id": sid, "object": "subscription", "customer": customer_id, "status": status, "currency": currency,
            "items": {"object": "list", "data": list(items), "has_more": False},
            "cancel_at_period_end": False, "cancel_at": None, "canceled_at": None, "ended_at": None,
            "trial_start": None, "trial_end": None, "pause_collection": None, "discounts": [],
            "default_tax_rates": [], "created": ts("2024-01-01"), "start_date": ts("2024-01-01"),
            "collection_method": "charge_automatically", "livemode": False, **extra}


def line(lid: str, invoice_id: str, price_id: str, amount: int, start: str, end: str, *, quantity: int = 1,
         subscription: str | None = "sub_1", subscription_item: str | None = "si_1", proration: bool = False,
         from_subscription: bool = True, currency: str = "usd", discount_amounts=(), taxes=()) -> dict[str, Any]:
    if from_subscription:
        parent = {"type": "subscription_item_details", "subscription_item_details": {
            "subscription": subscription, "subscription_item": subscription_item, "proration": proration,
            "invoice_item": None}}
    else:
        parent = {"type": "invoice_item_details", "invoice_item_details": {
            "invoice_item": f"ii_{lid}", "proration": proration, "subscription": subscription}}
    return {"id": lid, "object": "line_item", "invoice": invoice_id, "amount": amount, "currency": currency,
            "quantity": quantity, "period": {"start": ts(start), "end": ts(end)}, "parent": parent,
            "pricing": {"type": "price_details", "price_details": {"price": price_id, "product": "prod_1"}},
            "discount_amounts": [{"amount": a, "discount": d} for d, a in discount_amounts],
            "taxes": [{"amount": a, "tax_behavior": b, "type": "tax_rate_details"} for a, b in taxes],
            "livemode": False}


def invoice_payment(ipid: str, invoice_id: str, amount: int, *, charge: str | None = None,
                    currency: str = "usd", status: str = "paid", created: str = "2025-01-01") -> dict[str, Any]:
    """An ``invoice_payment`` (API 2025-03-31.basil on): the payment names the charge's payment
    intent, or the charge itself when it has none (stripe/_invoice_payment.py)."""
    payment = ({"type": "payment_intent", "payment_intent": f"pi_{charge}"} if charge
               else {"type": "payment_intent", "payment_intent": None})
    return {"id": ipid, "object": "invoice_payment", "invoice": invoice_id, "amount_paid": amount if status == "paid"
            else None, "amount_requested": amount, "currency": currency, "created": ts(created), "is_default": True,
            "livemode": False, "payment": payment, "status": status,
            "status_transitions": {"canceled_at": None, "paid_at": ts(created) if status == "paid" else None}}


def invoice(iid: str, lines: list[dict[str, Any]], *, customer_id: str = "cus_1", subscription: str | None = "sub_1",
            status: str = "paid", created: str = "2025-01-01", currency: str = "usd",
            charge: str | None = None, **extra: Any) -> dict[str, Any]:
    """An invoice as the sync stores it: ``payments`` expanded (no ``charge``/``payment_intent`` since basil)."""
    total = sum(x["amount"] for x in lines)
    payments = [invoice_payment(f"inpay_{iid}", iid, total, charge=charge, currency=currency, created=created)]
    return {"id": iid, "object": "invoice", "customer": customer_id, "status": status, "currency": currency,
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": subscription}},
            "lines": {"object": "list", "data": lines, "has_more": False},
            "subtotal": total, "total": total, "total_excluding_tax": total, "total_taxes": [],
            "amount_paid": total if status == "paid" else 0, "created": ts(created),
            "payments": {"object": "list", "data": payments if charge else [], "has_more": False,
                         "url": f"/v1/invoice_payments?invoice={iid}"},
            "billing_reason": "subscription_cycle", "livemode": False, **extra}


def charge(chid: str, amount: int, *, customer_id: str = "cus_1", amount_refunded: int = 0,
           currency: str = "usd") -> dict[str, Any]:
    """A charge of a payment intent, without ``invoice`` (removed in 2025-03-31.basil)."""
    return {"id": chid, "object": "charge", "customer": customer_id, "amount": amount, "currency": currency,
            "payment_intent": f"pi_{chid}", "amount_refunded": amount_refunded, "status": "succeeded", "created": ts("2025-01-02"), "livemode": False}


def refund(rid: str, chid: str, amount: int, currency: str = "usd") -> dict[str, Any]:
    return {"id": rid, "object": "refund", "charge": chid, "payment_intent": f"pi_{chid}", "amount": amount,
            "currency": currency,
            "status": "succeeded", "created": ts("2025-01-03")}


def credit_note(cnid: str, invoice_id: str, total: int, *, customer_id: str = "cus_1") -> dict[str, Any]:
    return {"id": cnid, "object": "credit_note", "customer": customer_id, "invoice": invoice_id, "total": total,
            "total_excluding_tax": total, "currency": "usd", "status": "issued", "type": "post_payment",
            "reason": "order_change", "created": ts("2025-01-04"), "livemode": False}


def load(store, **tables: list[dict[str, Any]]) -> None:
    """Write raw objects as the sync would (one transaction), binding the test account first."""
    if store.account() is None:
        store.bind_account(IDENTITY)
    with store.db.atomic():
        for table, objects in tables.items():
            store.upsert_objects(table, objects)


def segments_for(store, policy: str = "default", overrides=None, customers="changed", incremental: bool = True,
                 as_of: str | None = None):
    """Map, build and apply a policy: what the engine does after each sync.

    ``customers``: whose segments to rebuild — "changed" (what the mapping
    returned, as the engine does), None (all) or a list of ids. ``as_of``: the
    day the segments are built for (which kept events still date changes).
    """
    changed = map_changes(store) if incremental else map_all(store)
    build_segments(store, changed if customers == "changed" else customers,
                   as_of=date.fromisoformat(as_of) if as_of else None)
    return effective_segments(store, load_policy(policy, overrides or {}))


def mrr_on(segments, day: str, currency: str = "usd", series: str = "mrr") -> int:
    """Sum of monthly amounts of the segments covering a day (one currency, one series)."""
    when = date.fromisoformat(day)
    return sum(s.mrr_minor for s in segments if s.currency == currency and s.series == series
               and s.start <= when and (s.end is None or when < s.end))


def table(store, name: str) -> list[dict[str, Any]]:
    cursor = store.db.execute(f"SELECT * FROM {name} WHERE _deleted = 0 ORDER BY 1, 2, 3")
    names = [d[0] for d in cursor.description]
    return [{k: v for k, v in zip(names, row) if k not in ("_seq", "_synced_at")} for row in cursor.fetchall()]
