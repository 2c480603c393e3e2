"""The events feed of the demo account: the last 30 days, snapshots as of each event.

The simulation records ``(time, type, kind, payload)`` for everything that happens
inside the window; this module turns the records into Stripe event objects. The
snapshot in ``data.object`` is rebuilt for the event's moment: a subscription is
replayed from its timeline (with ``previous_attributes`` for updates), an invoice
shows the status it had (draft at creation, open at finalisation, ...), a charge
the amount refunded so far. Ids rise with (created, order of occurrence), as
Stripe's do, so newest-first order is the order things happened, reversed.
"""

from __future__ import annotations

import random

from ..constants import STRIPE_API_VERSION
from .ids import DAY, ordered_id
from .subscription import build_subscription

RETENTION_SECONDS = 30 * DAY


def event_object(event_id: str, event_type: str, created: int, snapshot: dict,
                 previous_attributes: dict | None = None) -> dict:
    data = {"object": snapshot}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id, "object": "event", "api_version": STRIPE_API_VERSION, "created": created,
        "data": data, "livemode": False, "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None}, "type": event_type,
    }


def changed_fields(before: dict, after: dict) -> dict:
    """Stripe's ``previous_attributes``: the old value of each top-level field that changed."""
    return {key: before.get(key) for key in after if before.get(key) != after.get(key)}


def invoice_snapshot(invoice: dict, status: str) -> dict:
    snapshot = dict(invoice)  # serialised at once, so sharing nested values is safe
    snapshot["status"] = status
    if status in ("draft", "open"):
        snapshot["amount_paid"] = 0
        snapshot["amount_remaining"] = snapshot["amount_due"]
        snapshot["post_payment_credit_notes_amount"] = 0
        snapshot["status_transitions"] = {"finalized_at": None if status == "draft" else invoice["created"],
                                          "marked_uncollectible_at": None, "paid_at": None, "voided_at": None}
    if status == "draft":
        snapshot["number"] = None
    return snapshot


def snapshot_for(kind: str, payload, at: int, event_type: str, prices: dict, plans: dict):
    """(snapshot, previous_attributes or None) of one recorded happening."""
    if kind == "subscription":
        after = build_subscription(payload, at, prices, plans)
        if event_type.endswith(".updated"):
            return after, changed_fields(build_subscription(payload, at - 1, prices, plans), after)
        return after, None
    if kind == "invoice":
        invoice, status = payload
        return invoice_snapshot(invoice, status), None
    if kind == "charge":
        charge, refunded = payload
        snapshot = dict(charge, amount_refunded=refunded, refunded=refunded >= charge["amount"])
        return snapshot, None
    return payload, None


def build_events(records: list[tuple], seed: int, prices: dict, plans: dict, now: int) -> list[dict]:
    """Event objects for the recorded happenings inside the retention window, oldest first."""
    rng = random.Random(f"events/{seed}")
    ordered = sorted(
        (entry for entry in records if now - RETENTION_SECONDS <= entry[0] <= now),
        key=lambda entry: (entry[0], entry[-1]),
    )
    events = []
    for sequence, (at, event_type, kind, payload, _order) in enumerate(ordered):
        snapshot, previous = snapshot_for(kind, payload, at, event_type, prices, plans)
        events.append(event_object(ordered_id("evt", sequence, rng), event_type, at, snapshot, previous))
    return events
