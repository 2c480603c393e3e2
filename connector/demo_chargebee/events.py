"""The fake site's event log: what Chargebee would have recorded for the objects built.

Each event's ``content`` carries the object it is about (and, for subscription
events, the customer), as Chargebee's events do. The content is a copy of the
object as the site was built, never changed afterwards: an event is a record of
the past, and later changes (mutations.py) add events of their own. The
connector treats events as a hint of what changed and re-reads the objects,
never as history; it stores them for ``explain``.
"""

from __future__ import annotations

import copy
from typing import Any


def _event(n: int, event_type: str, occurred_at: int, content: dict[str, Any]) -> dict[str, Any]:
    # the builder's own notes on an object ("_extras") are no part of what Chargebee shows
    snapshot = {kind: {k: v for k, v in obj.items() if not k.startswith("_")} if isinstance(obj, dict) else obj
                for kind, obj in copy.deepcopy(content).items()}
    return {
        "id": f"ev_{n:06d}", "occurred_at": occurred_at, "source": "api", "object": "event",
        "api_version": "v2", "event_type": event_type, "webhook_status": "not_configured",
        "content": snapshot,
    }


def events_for(site) -> list[dict[str, Any]]:
    customers = {c["id"]: c for c in site.objects["customers"]}
    raw: list[tuple[int, str, dict[str, Any]]] = []
    for customer in site.objects["customers"]:
        raw.append((customer["created_at"], "customer_created", {"customer": customer}))
    for price in site.objects.get("item_prices", []):
        raw.append((price["created_at"], "item_price_created", {"item_price": price}))
    for coupon in site.objects["coupons"]:
        raw.append((coupon["created_at"], "coupon_created", {"coupon": coupon}))
    for sub in site.objects["subscriptions"]:
        content = {"subscription": sub, "customer": customers[sub["customer_id"]]}
        raw.append((sub["created_at"], "subscription_created", content))
        if sub.get("cancel_schedule_created_at"):
            raw.append((sub["cancel_schedule_created_at"], "subscription_cancellation_scheduled", content))
        if sub["status"] == "cancelled":
            raw.append((sub["cancelled_at"], "subscription_cancelled", content))
        if sub["status"] == "paused":
            raw.append((sub["pause_date"], "subscription_paused", content))
    for inv in site.objects["invoices"]:
        raw.append((inv["generated_at"], "invoice_generated", {"invoice": inv}))
    for txn in site.objects["transactions"]:
        kind = {"payment": "payment_succeeded" if txn["status"] == "success" else "payment_failed",
                "refund": "payment_refunded"}[txn["type"]]
        raw.append((txn["date"], kind, {"transaction": txn}))
    for note in site.objects["credit_notes"]:
        raw.append((note["date"], "credit_note_created", {"credit_note": note}))
    for charge in site.objects["unbilled_charges"]:
        raw.append((charge["created_at"], "unbilled_charges_created", {"unbilled_charges": [charge]}))
    raw.sort(key=lambda e: (e[0], e[1]))
    return [_event(i + 1, kind, at, content) for i, (at, kind, content) in enumerate(raw)]
