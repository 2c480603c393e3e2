"""What makes up a customer's MRR on a day, and what is behind each of their movements.

Joins the ledger (runs, movements, months) with the stored segments, the raw
provider objects the segments came from (subscription items, invoice lines,
invoice items, coupons) and the events that touched them.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from ..errors import ConfigError
from .engine import stored_policy
from .facts import ensure_tables
from .model import read_segment_rows
from .queries import fetch_rows, customer_months, day_movements

# Raw table holding the object a segment's source_id names, per source_type.
_RAW_SOURCE_TABLES = {
    "subscription_item": "subscription_items",
    "invoice_line": "invoice_line_items",
    "invoice_item": "invoice_items",
    "discount": "coupons",
}
_RAW_SUMMARY_SKIP = ("data", "_synced_at", "_deleted", "_seq")


def _active_on(segment: dict[str, Any], day: str) -> bool:
    return segment["start_date"] <= day and (segment["end_date"] is None or day < segment["end_date"])


def _raw_object(store, source_type: str, source_id: str) -> dict[str, Any] | None:
    table = _RAW_SOURCE_TABLES.get(source_type)
    if table is None or not store.db[table].exists():
        return None
    found = fetch_rows(store, f'SELECT * FROM "{table}" WHERE id = ? LIMIT 1', [source_id])
    if not found:
        return None
    return {"table": table, **{k: v for k, v in found[0].items() if k not in _RAW_SUMMARY_SKIP}}


def _events(store, object_ids: set[str]) -> list[dict[str, Any]]:
    if not object_ids or not store.db["events"].exists():
        return []
    ids = sorted(object_ids)
    return fetch_rows(
        store,
        f"SELECT id, type, created, object_id FROM events WHERE _deleted = 0 "
        f"AND object_id IN ({', '.join('?' for _ in ids)}) ORDER BY created, id",
        ids,
    )


def explain(store, customer_id: str, day: date) -> dict[str, Any]:
    """Everything behind ``customer_id``'s MRR on ``day`` and each of their movements.

    Raises ConfigError when the store knows nothing about the customer.
    """
    ensure_tables(store)
    iso = day.isoformat()
    segments = read_segment_rows(store, [customer_id])
    movements = day_movements(store, customer_id)
    if not segments and not movements:
        raise ConfigError(
            f"no revenue segments or MRR facts for customer {customer_id!r}: check the id "
            "(the provider's customer id) or run `billing-connector backfill`"
        )
    by_source: dict[str, list[str]] = {}
    for segment in segments:
        by_source.setdefault(segment["source_id"], []).append(segment["segment_id"])
    mrr = fetch_rows(
        store,
        "SELECT currency, mrr_minor FROM mrr_customer_runs WHERE _deleted = 0 AND customer_id = ? "
        "AND start_date <= ? AND (end_date IS NULL OR end_date > ?) ORDER BY currency",
        [customer_id, iso, iso],
    )
    active = []
    for segment in segments:
        if not _active_on(segment, iso):
            continue
        active.append({
            **{k: segment[k] for k in (
                "segment_id", "provider", "source_type", "source_id", "subscription_id", "series", "currency",
                "start_date", "end_date", "amount_minor", "interval", "interval_count",
            )},
            "tags": json.loads(segment["tags"]),
            "detail": json.loads(segment["detail"]),
            "raw": _raw_object(store, segment["source_type"], segment["source_id"]),
        })
    explained_movements = []
    for movement in movements:
        source_ids = json.loads(movement["source_ids"])
        explained_movements.append({
            **{k: v for k, v in movement.items() if k != "source_ids"},
            "source_ids": source_ids,
            "segment_ids": sorted(s for source in source_ids for s in by_source.get(source, [])),
        })
    object_ids = {customer_id}
    object_ids.update(s["source_id"] for s in segments)
    object_ids.update(s["subscription_id"] for s in segments if s["subscription_id"])
    return {
        "customer_id": customer_id,
        "date": iso,
        "policy": stored_policy(store).name or None,
        "mrr": mrr,
        "segments": active,
        "movements": explained_movements,
        "months": [m for m in customer_months(store, customer_id=customer_id) if m["movement"]],
        "events": _events(store, object_ids),
    }
