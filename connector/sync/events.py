"""Incremental sync: one scan of ``/v1/events`` for all streams, then re-fetches.

The scan reads the window ``(oldest stream cursor, now - lag]`` in chunks of a
day, oldest chunk first. For each chunk it collects the objects that changed
(deduplicated by event id, then by object), re-fetches each once from its
detail endpoint — event payloads are frozen at their creation's API version and
lack expansions — and commits the objects together with every stream's cursor
moved to the chunk's end. A crash replays at most one chunk, harmlessly.
A server that ignores the ``created`` window (it lists events outside it) gets
the rest of the window read once as one chunk, its outside events left out:
reading the whole list for every day of the window would multiply the requests,
and its first page alone cannot say that the window is empty.

No ``types[]`` filter is sent: Stripe caps it at 20 exact names (no wildcards)
and a fixed list would miss the next new event type for an object we keep.
Events are routed by the kind of object they carry instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .. import quarantine
from ..errors import PaginationError
from ..providers.base import Page, Provider
from ..quarantine import Rejected
from ..store import Store
from ..streams import RAW_TABLES
from ..values import object_problem
from .pages import CHILDREN, replace_children, write_page
from .pipeline import Job, Pipeline

log = logging.getLogger("billing_connector.sync")

CHUNK_SECONDS = 24 * 3600

# data.object.object -> stream
OBJECT_STREAMS = {
    "customer": "customers",
    "product": "products",
    "price": "prices",
    "plan": "plans",
    "coupon": "coupons",
    "promotion_code": "promotion_codes",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "invoiceitem": "invoice_items",
    "credit_note": "credit_notes",
    "charge": "charges",
    "refund": "refunds",
}


def changed_objects(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(stream, id) pairs an event says changed (none for a payload of another shape)."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        return []
    kind, object_id = obj.get("object"), obj.get("id")
    if not isinstance(object_id, str):
        object_id = None
    if kind == "discount":
        # A discount lives on a subscription or a customer: re-read its owner.
        owners = []
        for field, stream in (("subscription", "subscriptions"), ("customer", "customers")):
            owner = _ref(obj.get(field))
            if owner:
                owners.append((stream, owner))
        return owners
    if kind == "invoice_payment":
        # Kept with its invoice (a child table): re-read the invoice and all its payments.
        invoice = _ref(obj.get("invoice"))
        return [("invoices", invoice)] if invoice else []
    stream = OBJECT_STREAMS.get(kind) if isinstance(kind, str) else None
    if stream is None or not object_id:
        return []
    pairs = [(stream, object_id)]
    charge = _ref(obj.get("charge")) if kind == "refund" else None
    if charge:
        pairs.append(("charges", charge))
    return pairs


def _ref(value: Any) -> str | None:
    """An id, whether the field came expanded or plain; None for anything else."""
    value = value.get("id") if isinstance(value, Mapping) else value
    return value if isinstance(value, str) and value else None


def _created(event: Mapping[str, Any]) -> int:
    """An event's time; one without a usable time sorts first and moves no cursor."""
    created = event.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0


class EventsPass:
    """Apply every change since each stream's cursor, up to ``until``."""

    def __init__(self, store: Store, provider: Provider, cursors: dict[str, int], until: int, progress):
        self.store = store
        self.provider = provider
        self.cursors = cursors  # stream -> events cursor (epoch seconds)
        self.until = until
        self.progress = progress
        self.events_seen = 0
        self.objects_refetched = 0
        self.rejected: list[Rejected] = []  # events that cannot be stored, written with their chunk
        self.window_ignored = False  # the server listed events outside the created window asked for

    def run(self, make_pipeline) -> dict[str, Any]:
        if not self.cursors:
            return {}
        start = min(self.cursors.values())
        failures: dict[str, Any] = {}
        if start >= self.until or not self._any_events(start):
            # Nothing happened: leave every cursor as it is, so a rerun with no
            # upstream change writes nothing at all.
            return failures
        while start < self.until:
            # A server that ignores the window lists every event for every chunk: the rest
            # of the window is then read once, as one chunk (bounded: one pass over its list).
            end = self.until if self.window_ignored else min(start + CHUNK_SECONDS, self.until)
            failures = self._chunk(make_pipeline, start, end)
            if failures:
                return failures
            start = end
        return failures

    def _any_events(self, start: int) -> bool:
        """Whether the window may hold an event: its first page has one, or the server ignores the
        window (its first page then says nothing about the events further down the list)."""
        probe = self.provider.events_page(types=[], created_gt=start, created_lte=self.until, starting_after=None)
        self.window_ignored = self.window_ignored or probe.outside_window > 0
        return bool(probe.events) or self.window_ignored

    def _scan(self, start: int, end: int) -> list[dict[str, Any]]:
        events: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            # the provider's paging chokepoint refuses a repeated cursor or page
            page = self.provider.events_page(types=[], created_gt=start, created_lte=end, starting_after=after)
            self.window_ignored = self.window_ignored or page.outside_window > 0
            with_ids = []
            for event in page.events:
                if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
                    self.rejected.append(Rejected.of("events", event, object_problem(event) or "no id"))
                    continue
                with_ids.append(event)
                events.setdefault(event["id"], event)
            if not page.has_more:
                break
            after = page.next_cursor or (with_ids[-1]["id"] if with_ids else None)
            if after is None:
                raise PaginationError("/v1/events returned a page without one event id to page on; refusing to loop")
        self.events_seen += len(events)
        return sorted(events.values(), key=lambda e: (_created(e), e["id"]))

    def _chunk(self, make_pipeline, start: int, end: int) -> dict[str, Any]:
        pipeline: Pipeline = make_pipeline()
        events: list[dict[str, Any]] = []

        def scan() -> list[dict[str, Any]]:
            return self._scan(start, end)

        def keep(result: list[dict[str, Any]]) -> None:
            events.extend(result)

        pipeline.submit(Job("events", scan, keep))
        failures = pipeline.run(self.store.db.atomic)
        if failures:
            return failures

        todo: dict[tuple[str, str], int] = {}
        relevant = []
        for event in events:
            for stream, object_id in changed_objects(event):
                if stream in self.cursors and self.cursors[stream] < _created(event):
                    todo[(stream, object_id)] = _created(event)
                    relevant.append(event)
        pipeline = make_pipeline()
        for (stream, object_id) in todo:
            pipeline.submit(Job(stream, self._refetcher(stream, object_id), self._applier(stream, object_id)))
        failures = pipeline.run(self.store.db.atomic)
        if failures:
            return failures
        with self.store.db.atomic():
            quarantine.record(self.store, self.rejected)
            self.rejected = []
            self._store_events({e["id"]: e for e in relevant})
            for stream in self.cursors:
                if self.cursors[stream] < end:
                    self.cursors[stream] = end
                    state = self.store.get_state(stream) or {}
                    state.update({"phase": "incremental", "events_cursor": end})
                    self.store.set_state(stream, state)
        return {}

    def _store_events(self, unique: dict[str, dict[str, Any]]) -> None:
        """The events that moved a cursor, as received; one that cannot be stored is quarantined."""
        spec, rows, rejected = RAW_TABLES["events"], [], []
        for event in unique.values():
            row = spec.to_row(event)
            problem = object_problem(event, row["data"])
            if problem is None:
                rows.append(row)
            else:
                rejected.append(Rejected.of("events", event, problem))
        quarantine.record(self.store, rejected)
        self.store.upsert_rows("events", spec.primary_key, rows)

    def _refetcher(self, stream: str, object_id: str):
        def fetch():
            obj = self.provider.fetch_object(stream, object_id)
            children = self.provider.fetch_children(stream, obj) if obj is not None else {}
            return obj, children

        return fetch

    def _applier(self, stream: str, object_id: str):
        def apply(result) -> None:
            obj, children = result
            self.objects_refetched += 1
            self.progress.advance(stream, 1)
            if obj is None:
                self.store.mark_deleted(stream, [{"id": object_id}])
                for child_table, column in CHILDREN.get(stream, ()):
                    replace_children(self.store, child_table, column, object_id, [])
                return
            page = Page(objects=[obj], has_more=False, children={t: [(object_id, c)] for t, c in children.items()})
            write_page(self.store, stream, page)

        return apply


# Events the mapping reads for when things happened (it never needs the objects re-read).
HISTORY_EVENT_TYPES = ["customer.subscription.updated"]


class EventsHistory(EventsPass):
    """The events Stripe still keeps from before a full read (30 days), stored without re-fetching.

    A full read gives every object as it is now, but not when it changed: the
    mapping dates a price, quantity or status change from its
    ``customer.subscription.updated`` event. Reading them on the first sync too
    gives a fresh store the same dates as a store synced nightly for a month.
    """

    def store_history(self, make_pipeline, start: int, end: int) -> dict[str, Any]:
        """Read and store them; returns the failures (by stream), as the other passes do."""
        if start >= end:
            return {}
        found: list[dict[str, Any]] = []

        def scan() -> list[dict[str, Any]]:
            # no types[] filter, as in the events pass: not every Stripe-like server accepts one
            return [e for e in self._scan(start, end) if e.get("type") in HISTORY_EVENT_TYPES]

        def keep(events: list[dict[str, Any]]) -> None:
            found.extend(events)
            if events:
                self.store.upsert_objects("events", events)

        pipeline: Pipeline = make_pipeline()
        pipeline.submit(Job("events", scan, keep))
        return pipeline.run(self.store.db.atomic)
