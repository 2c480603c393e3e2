"""What the connector reads from Chargebee (API v2): one entry per stream, pure data.

Nothing else names a Chargebee object: the adapter, the fake server and the
mapping read this table. Facts taken from Chargebee's API reference and the
official SDK's ``ListParams`` (``chargebee/models/<resource>/operations.py``):

* ``sort_by``: lists are read in the order of an **immutable** key, so a record
  updated during a read never moves behind the cursor (sorting on the mutable
  ``updated_at`` loses records). ``created_at`` where the list can sort on it;
  ``date`` for invoices, credit notes and transactions; ``id`` for items and
  item prices (their sortable attributes are name, id, updated_at); nothing for
  lists without ``sort_by`` (item families, plans, addons, unbilled charges),
  which Chargebee lists by creation, ascending.
* ``updated_filter``: incremental reads add ``updated_at[after]`` — never on a
  full read, since records not updated since 2016 have no ``updated_at``.
  Unbilled charges have no such filter: they are read in full every time.
* ``include_deleted``: only the lists that accept it (deleted records come back
  with ``deleted: true`` and become tombstones).
* ``children``: lists embedded in the parent (child table -> parent field); an
  invoice or credit note with more than its embedded line items carries
  ``line_items_next_offset`` and is completed from its detail endpoint with
  ``line_items_offset`` (``completion``).
* ``events``: the event types whose ``content`` carries an object of the stream
  (events are a hint of what changed, never history: the list is re-read by
  ``updated_at``).
* The events list itself is a stream: kept for ``explain`` (what happened to a
  customer lately), read by ``occurred_at[after]`` (events never change), and
  on its first read only the last ``EVENTS_WINDOW_DAYS`` before the site's
  newest event — years of events would cost more requests than every other
  stream together, for a hint.
* ``permission``: the API-key permission Chargebee names for reading it, quoted
  in the one-line message a 401/403 gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import INCREMENTAL_BY_FULL_READ, INCREMENTAL_BY_UPDATED_SINCE, Child

PAGE_SIZE = 100            # Chargebee's maximum `limit` for list endpoints
EVENTS_WINDOW_DAYS = 90    # what a first read of the events list covers (the site's UI shows 90 days too)
LINE_ITEMS_PAGE_SIZE = 300  # maximum `line_items_limit` when completing an invoice's lines

# Product Catalog versions, as the site's configuration names them.
PC2 = "v2"
PC1 = "v1"


@dataclass(frozen=True)
class CbStream:
    name: str                      # raw table name in the store
    resource: str                  # the list entry's key (`{"list": [{"<resource>": {...}}]}`)
    path: str                      # under /api/v2
    sort_by: str | None            # immutable key for `sort_by[asc]`, None: the list's own order
    updated_filter: bool = True    # accepts `updated_at[after]`
    include_deleted: bool = False  # accepts `include_deleted=true`
    children: Mapping[str, str] = field(default_factory=dict)
    completion: str | None = None  # field naming the next batch of embedded lines
    events: tuple[str, ...] = ()
    permission: str = ""
    catalog: str | None = None     # PC1 or PC2 when the stream exists in one catalog only
    created_field: str | None = "created_at"  # the object's creation instant, if it has one
    known_values: Mapping[str, frozenset[str]] = field(default_factory=dict)  # enums the MRR rules read
    update_field: str = "updated_at"   # what `updated_filter` filters on: `<update_field>[after]`
    first_read_window_seconds: int | None = None  # a first read covers only this much before the newest record
    optional: bool = False         # a refusal of its reads is a warning: nothing else depends on it

    # What the sync reads (providers.base.StreamSpec). Lists are read oldest first on an
    # immutable key, by `next_offset`: no creation slices, no partitions. Embedded lists
    # stay inside the parent's stored object (the mapping reads them there).
    sliceable = False
    partitioned = False
    child_lists: tuple[Child, ...] = ()

    @property
    def incremental(self) -> str:
        return INCREMENTAL_BY_UPDATED_SINCE if self.updated_filter else INCREMENTAL_BY_FULL_READ

    @property
    def creation_field(self) -> str | None:
        return self.created_field

    @property
    def tombstone_field(self) -> str | None:
        """Deleted records come back with ``deleted: true`` from lists read with include_deleted."""
        return "deleted" if self.include_deleted else None

    @property
    def full_params(self) -> dict[str, str]:
        """Query parameters of a full read (paging and incremental filters added by the adapter)."""
        params = {"limit": str(PAGE_SIZE)}
        if self.sort_by:
            params["sort_by[asc]"] = self.sort_by
        if self.include_deleted:
            params["include_deleted"] = "true"
        return params


def _events(resource: str, *suffixes: str) -> tuple[str, ...]:
    return tuple(f"{resource}_{s}" for s in suffixes)


_LINE_CHILDREN = {
    "line_items": "line_items",
    "line_item_discounts": "line_item_discounts",
    "line_item_taxes": "line_item_taxes",
}

# The events list: sorted by occurrence (immutable), read by `occurred_at`, windowed on a first read.
EVENTS = CbStream(
    "events", "event", "/events", "occurred_at", update_field="occurred_at",
    permission="Events: read", created_field="occurred_at", first_read_window_seconds=EVENTS_WINDOW_DAYS * 86400,
    optional=True,
)

STREAMS: dict[str, CbStream] = {
    s.name: s
    for s in [
        CbStream(
            "customers", "customer", "/customers", "created_at", include_deleted=True,
            events=_events("customer", "created", "changed", "deleted"),
            permission="Customers: read",
        ),
        CbStream(
            "item_families", "item_family", "/item_families", None,
            events=_events("item_family", "created", "updated", "deleted"),
            permission="Product Catalog: read", catalog=PC2, created_field=None,
        ),
        CbStream(
            "items", "item", "/items", "id",
            events=_events("item", "created", "updated", "deleted"),
            permission="Product Catalog: read", catalog=PC2, created_field=None,
        ),
        CbStream(
            "item_prices", "item_price", "/item_prices", "id",
            events=_events("item_price", "created", "updated", "deleted"),
            permission="Product Catalog: read", catalog=PC2,
        ),
        CbStream(
            "plans", "plan", "/plans", None, include_deleted=True,
            events=_events("plan", "created", "updated", "deleted"),
            permission="Product Catalog: read", catalog=PC1, created_field=None,
        ),
        CbStream(
            "addons", "addon", "/addons", None, include_deleted=True,
            events=_events("addon", "created", "updated", "deleted"),
            permission="Product Catalog: read", catalog=PC1, created_field=None,
        ),
        CbStream(
            "coupons", "coupon", "/coupons", "created_at",
            events=_events("coupon", "created", "updated", "deleted"),
            permission="Coupons: read",
            known_values={"duration_type": frozenset({"one_time", "forever", "limited_period"})},
        ),
        CbStream(
            "subscriptions", "subscription", "/subscriptions", "created_at", include_deleted=True,
            children={"subscription_items": "subscription_items", "subscription_coupons": "coupons",
                      "subscription_discounts": "discounts"},
            events=_events(
                "subscription", "created", "started", "activated", "changed", "cancellation_scheduled",
                "scheduled_cancellation_removed", "cancelled", "reactivated", "renewed", "paused",
                "pause_scheduled", "resumed", "deleted", "changes_scheduled", "scheduled_changes_removed",
            ),
            permission="Subscriptions: read",
            known_values={"status": frozenset({"future", "in_trial", "active", "non_renewing", "paused",
                                               "cancelled", "transferred"})},
        ),
        CbStream(
            "invoices", "invoice", "/invoices", "date", include_deleted=True,
            children=_LINE_CHILDREN, completion="line_items_next_offset",
            events=("invoice_generated", "invoice_updated", "invoice_deleted",
                    "pending_invoice_created", "pending_invoice_updated"),
            permission="Invoices: read", created_field="date",
            known_values={"status": frozenset({"paid", "posted", "payment_due", "not_paid", "voided", "pending"})},
        ),
        CbStream(
            "credit_notes", "credit_note", "/credit_notes", "date", include_deleted=True,
            children=_LINE_CHILDREN, completion="line_items_next_offset",
            events=_events("credit_note", "created", "updated", "deleted"),
            permission="Credit Notes: read", created_field="date",
        ),
        CbStream(
            "transactions", "transaction", "/transactions", "date", include_deleted=True,
            events=("transaction_created", "transaction_updated", "transaction_deleted",
                    "payment_succeeded", "payment_failed", "payment_refunded", "refund_initiated"),
            permission="Transactions: read", created_field="date",
        ),
        CbStream(
            "unbilled_charges", "unbilled_charge", "/unbilled_charges", None,
            updated_filter=False, include_deleted=True,
            events=("unbilled_charges_created", "unbilled_charges_voided", "unbilled_charges_deleted",
                    "unbilled_charges_invoiced"),
            permission="Unbilled Charges: read",
        ),
        EVENTS,
    ]
}

def streams_for(catalog_version: str) -> dict[str, CbStream]:
    """The streams a site on ``catalog_version`` (PC1 or PC2) serves."""
    return {n: s for n, s in STREAMS.items() if s.catalog in (None, catalog_version)}


def stream_of_event(event_type: str) -> str | None:
    """The stream an event type touches, or None if none we read."""
    return _EVENT_STREAM.get(event_type)


_EVENT_STREAM = {t: s.name for s in STREAMS.values() for t in s.events}


def changed_objects(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(stream, id) an event names: its type's stream, the object of that resource in ``content``."""
    stream = stream_of_event(event.get("event_type") or "")
    content = event.get("content")
    if stream is None or not isinstance(content, Mapping):
        return []
    obj = content.get(STREAMS[stream].resource)
    object_id = obj.get("id") if isinstance(obj, Mapping) else None
    return [(stream, object_id)] if isinstance(object_id, str) and object_id else []


def event_time(event: Mapping[str, Any]) -> int:
    occurred = event.get("occurred_at")
    return occurred if isinstance(occurred, int) and not isinstance(occurred, bool) else 0


def endpoint_of(path: str) -> str:
    """The endpoint a request counts under: ``/invoices/inv_123`` -> ``/invoices/:id`` (a collection,
    then an object of it; the API's paths have no deeper shape the connector reads)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2:
        parts[1] = ":id"
    return "/" + "/".join(parts)
