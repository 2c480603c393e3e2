"""The status job: what the store holds and what the next sync will do, without the network or a write."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..store import opened, quarantine
from .. import sync_health


def status(settings: Settings) -> dict[str, Any]:
    """What the store holds and what the next sync will do, without touching the network or the file."""
    from ..mapping.schema import unclassified_summary
    from ..mrr.model import unplaced_summary
    from ..output_values import iso_utc

    with opened(settings.db, read_only=True) as store:
        account = store.account()
        counts = store.table_counts()
        states = store.all_states()
        last = sync_health.last_sync(store)
        unclassified = unclassified_summary(store) if store.db["billing_unclassified"].exists() else []
        unplaced = unplaced_summary(store)
        quarantined = quarantine.counts(store)
    streams = []
    for table, rows in counts.items():
        state = states.get(table, {}).get("state")
        streams.append({
            "stream": table,
            "rows": rows,
            "phase": (state or {}).get("phase"),
            "events_cursor": iso_utc((state or {}).get("events_cursor")),
            # streams listed by update time (Chargebee): the latest update the last read saw
            "updated_cursor": iso_utc((state or {}).get("updated_cursor")),
            "updated_at": states.get(table, {}).get("updated_at"),
            "next_run": sync_health.next_run(state),
        })
    return {
        "db": settings.db,
        "provider": account.provider if account else None,
        "account_id": account.account_id if account else None,
        "mode": ("live" if account.livemode else "test") if account else None,
        "api_version": account.api_version if account else None,
        "partial": last["partial"],
        "warning": last["warning"],
        "last_sync": last,
        "streams": streams,
        # objects the mapping could not classify: kept, counted, never dropped silently
        "unclassified": _with_money(unclassified),
        # subscriptions and invoice lines the MRR rules could not place (amount and reason)
        "mrr_unplaced": _with_money(unplaced),
        # records that could not be stored, mapped or exported, per stream (exit 8 on the run that met them)
        "quarantined": quarantined,
    }


def _with_money(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Summary groups with their ``amount_minor`` + ``currency`` as one money object, ``amount``."""
    from ..output_values import money

    return [
        {**{k: v for k, v in item.items() if k not in ("amount_minor", "currency")},
         "amount": money(item["amount_minor"], item["currency"])}
        for item in groups
    ]
