"""What makes up a customer's MRR on a day, and what is behind each of their movements.

Joins the ledger (runs, movements, months) with the stored segments, the policy
applied to them (which pieces counted that day, and why the others did not),
the objects the segments came from (raw subscription items and invoice lines,
the neutral discount with its coupon), what the rules could not place, and the
events that touched them.

A read: it never creates or changes a table. A store without MRR tables, or a
customer it knows nothing about, is a ConfigError.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from ..errors import ConfigError
from . import engine
from .facts import MONTHS_TABLE, MOVEMENTS_TABLE, RUNS_TABLE
from .model import SEGMENTS_TABLE, UNPLACED_TABLE
from .policy import Policy
from .provider_mrr import provider_mrr
from .queries import fetch_rows
from .segments_effective import apply_policy

# Raw table holding the object a segment's source_id names, per source_type.
_RAW_SOURCE_TABLES = {
    "subscription_item": "subscription_items",
    "invoice_line": "invoice_line_items",
    "invoice_item": "invoice_items",
}
_RAW_SUMMARY_SKIP = ("data", "_synced_at", "_deleted", "_seq")


def _rows(store, table: str, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows of ``sql`` when ``table`` exists (never creating it), else none."""
    return fetch_rows(store, sql, params) if store.db[table].exists() else []


def _active_on(segment: dict[str, Any], day: str) -> bool:
    return segment["start_date"] <= day and (segment["end_date"] is None or day < segment["end_date"])


def _source_object(store, source_type: str, source_id: str) -> dict[str, Any] | None:
    """The object a piece came from: a raw item or line, or the neutral discount (by its own id)."""
    if source_type == "discount":
        found = _rows(store, "billing_discounts", "SELECT * FROM billing_discounts WHERE id = ? AND _deleted = 0 "
                      "LIMIT 1", [source_id])
        return {"table": "billing_discounts", **{k: v for k, v in found[0].items() if k not in _RAW_SUMMARY_SKIP}} \
            if found else None
    table = _RAW_SOURCE_TABLES.get(source_type)
    if table is None:
        return None
    found = _rows(store, table, f'SELECT * FROM "{table}" WHERE id = ? LIMIT 1', [source_id])
    return {"table": table, **{k: v for k, v in found[0].items() if k not in _RAW_SUMMARY_SKIP}} if found else None


def _events(store, object_ids: set[str]) -> list[dict[str, Any]]:
    ids = sorted(i for i in object_ids if i)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    if store.provider == "chargebee":
        # an event's content carries the objects it is about (the customer, the subscription, an
        # invoice of the customer): the last 90 days of them are stored (chargebee_catalog.EVENTS)
        about = ("json_extract(data, '$.content.customer.id')", "json_extract(data, '$.content.subscription.id')",
                 "json_extract(data, '$.content.subscription.customer_id')",
                 "json_extract(data, '$.content.invoice.customer_id')",
                 "json_extract(data, '$.content.transaction.customer_id')",
                 "json_extract(data, '$.content.credit_note.customer_id')")
        where = " OR ".join(f"{path} IN ({marks})" for path in about)
        return _rows(store, "events", "SELECT id, event_type AS type, occurred_at AS created, "
                     f"coalesce({about[1]}, {about[0]}, {about[3]}, {about[4]}, {about[5]}) AS object_id "
                     f"FROM events WHERE _deleted = 0 AND ({where}) ORDER BY occurred_at, id", ids * len(about))
    return _rows(store, "events", f"SELECT id, type, created, object_id FROM events WHERE _deleted = 0 "
                 f"AND object_id IN ({marks}) ORDER BY created, id", ids)


def _counted_on(rows: list[dict[str, Any]], policy: Policy | None, day: date) -> dict[str, int]:
    """segment_id → monthly amount counted on ``day`` under ``policy`` (the policy applied on the fly)."""
    counted: dict[str, int] = {}
    for segment in apply_policy(rows, policy or Policy()):
        if segment.start <= day and (segment.end is None or day < segment.end):
            key = segment.detail.get("segment_id", "")
            counted[key] = counted.get(key, 0) + segment.mrr_minor
    return counted


def _why_not(segment: dict[str, Any], tags: list[str], counted_subscriptions: set[str]) -> str:
    if segment["subscription_id"] in counted_subscriptions and segment["source_type"] != "discount":
        return "another source counts this subscription on this day (one of items or invoice lines, never both)"
    return f"left out by the policy's rules (tags: {', '.join(tags)})"


def explain(store, customer_id: str, day: date) -> dict[str, Any]:
    """Everything behind ``customer_id``'s MRR on ``day`` and each of their movements.

    Raises ConfigError when the store knows nothing about the customer.
    """
    iso = day.isoformat()
    segments = _rows(store, SEGMENTS_TABLE, f"SELECT * FROM {SEGMENTS_TABLE} WHERE _deleted = 0 AND customer_id = ? "
                     "ORDER BY start_date, segment_id", [customer_id])
    movements = _rows(store, MOVEMENTS_TABLE, "SELECT customer_id, currency, day, movement, amount_minor, "
                      f"mrr_before_minor, mrr_after_minor, cause, source_ids FROM {MOVEMENTS_TABLE} "
                      "WHERE _deleted = 0 AND customer_id = ? ORDER BY currency, day", [customer_id])
    unplaced = _rows(store, UNPLACED_TABLE, f"SELECT object_type, object_id, reason, amount_minor, currency "
                     f"FROM {UNPLACED_TABLE} WHERE _deleted = 0 AND customer_id = ? ORDER BY object_id",
                     [customer_id])
    if not segments and not movements and not unplaced:
        raise ConfigError(
            f"no revenue segments or MRR facts for customer {customer_id!r}: check the id "
            "(the provider's customer id) or run `billing-connector backfill`"
        )
    stored = engine.stored_policy(store)
    policy = engine.policy_of_store(store)
    counted = _counted_on(segments, policy, day)
    counted_subscriptions = {s["subscription_id"] for s in segments if s["segment_id"] in counted}
    by_source: dict[str, list[str]] = {}
    for segment in segments:
        by_source.setdefault(segment["source_id"], []).append(segment["segment_id"])
    mrr = _rows(store, RUNS_TABLE, f"SELECT currency, mrr_minor FROM {RUNS_TABLE} WHERE _deleted = 0 AND "
                "customer_id = ? AND start_date <= ? AND (end_date IS NULL OR end_date > ?) ORDER BY currency",
                [customer_id, iso, iso])
    active = []
    for segment in segments:
        if not _active_on(segment, iso):
            continue
        tags = json.loads(segment["tags"])
        counts = segment["segment_id"] in counted
        active.append({
            **{k: segment[k] for k in (
                "segment_id", "provider", "source_type", "source_id", "subscription_id", "series", "currency",
                "start_date", "end_date", "amount_minor", "interval", "interval_count",
            )},
            "tags": tags,
            "detail": json.loads(segment["detail"]),
            "counted": counts,
            "counted_mrr_minor": counted.get(segment["segment_id"]) if counts else None,
            "why_not_counted": None if counts else _why_not(segment, tags, counted_subscriptions),
            "source": _source_object(store, segment["source_type"], segment["source_id"]),
        })
    explained_movements = []
    for movement in movements:
        source_ids = json.loads(movement["source_ids"])
        explained_movements.append({
            **{k: v for k, v in movement.items() if k != "source_ids"},
            "source_ids": source_ids,
            "segment_ids": sorted(s for source in source_ids for s in by_source.get(source, [])),
        })
    months = _rows(store, MONTHS_TABLE, "SELECT customer_id, month, currency, mrr_minor, movement, movement_minor, "
                   f"cause FROM {MONTHS_TABLE} WHERE _deleted = 0 AND customer_id = ? AND movement != '' "
                   "ORDER BY currency, month", [customer_id])
    object_ids = {customer_id}
    object_ids.update(s["source_id"] for s in segments)
    object_ids.update(s["subscription_id"] for s in segments if s["subscription_id"])
    return {
        "customer_id": customer_id,
        "date": iso,
        "policy": stored.name or None,
        "mrr": mrr,
        "segments": active,
        "movements": explained_movements,
        "months": months,
        "unplaced": unplaced,
        "events": _events(store, object_ids),
        # the provider's own per-subscription MRR beside ours (Chargebee's `mrr`), never an input
        "provider_mrr": provider_mrr(store, customer_id, _ours_by_subscription(active)),
    }


def _ours_by_subscription(active: list[dict[str, Any]]) -> dict[str, int]:
    """The MRR our policy counts per subscription on the day (the usage series is not MRR)."""
    ours: dict[str, int] = {}
    for segment in active:
        if segment["counted"] and segment["subscription_id"] and segment["series"] == "mrr":
            ours[segment["subscription_id"]] = ours.get(segment["subscription_id"], 0) + segment["counted_mrr_minor"]
    return ours
