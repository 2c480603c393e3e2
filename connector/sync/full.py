"""The full read of a stream: slices in flight, each page committed with its cursor.

Stream state while a full read runs (JSON in ``_sync_state``)::

    {"phase": "full", "events_cursor": T, "slices": [{gte, lt, after, after_created}, ...],
     "refresh": bool, "rows": N}

``events_cursor`` is taken before the first page, so the events replay after
the full read covers every change made while it ran. When the last slice
finishes the stream turns ``{"phase": "incremental", "events_cursor": T, ...}``.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from ..providers.base import CursorGone, Page, Provider
from ..store import Store
from ..streams import RAW_TABLES
from .enums import EnumWatch
from .pipeline import Job, Pipeline
from .slices import Slice, advance, restart_without_cursor

log = logging.getLogger("billing_connector.sync")

_SEEN_TABLE = "_full_refresh_seen"
# parent stream -> (child table, the child's column naming its parent)
CHILDREN = {"subscriptions": (("subscription_items", "subscription"),), "invoices": (("invoice_line_items", "invoice"),)}


class FullRead:
    """One stream's full read, driven by the shared pipeline."""

    def __init__(self, store: Store, provider: Provider, stream: str, state: dict[str, Any], progress):
        self.store = store
        self.provider = provider
        self.stream = stream
        self.state = state
        self.progress = progress
        self._ids = itertools.count()
        self.slices: dict[int, Slice] = {next(self._ids): Slice.from_state(s) for s in state["slices"]}
        self.rows = int(state.get("rows", 0))
        self.splittable = self.provider.streams[stream].sliceable

    def start(self, pipeline: Pipeline) -> None:
        for slice_id in list(self.slices):
            self._submit(pipeline, slice_id)

    def _submit(self, pipeline: Pipeline, slice_id: int) -> None:
        current = self.slices[slice_id]

        def fetch() -> tuple[Slice, Page | None]:
            try:
                return current, self.provider.list_page(
                    self.stream, starting_after=current.after, created_gte=current.gte, created_lt=current.lt
                )
            except CursorGone:
                return current, None

        def apply(result: tuple[Slice, Page | None]) -> None:
            self._apply(pipeline, slice_id, *result)

        pipeline.submit(Job(self.stream, fetch, apply))

    def _apply(self, pipeline: Pipeline, slice_id: int, current: Slice, page: Page | None) -> None:
        if page is None:
            log.warning("%s: cursor object vanished while paging; re-reading its second", self.stream)
            self.slices[slice_id] = restart_without_cursor(current)
            self._save()
            self._submit(pipeline, slice_id)
            return
        write_page(self.store, self.stream, page, track_seen=self.state.get("refresh", False))
        self.rows += len(page.objects)
        self.progress.advance(self.stream, len(page.objects))
        nxt, split = advance(current, page.objects, page.has_more, self.splittable, pipeline.has_idle_capacity())
        if nxt is None:
            del self.slices[slice_id]
        else:
            self.slices[slice_id] = nxt
        new_id = None
        if split is not None:
            new_id = next(self._ids)
            self.slices[new_id] = split
        if not self.slices:
            self._finish()
            return
        self._save()
        if nxt is not None:
            self._submit(pipeline, slice_id)
        if new_id is not None:
            self._submit(pipeline, new_id)

    def _save(self) -> None:
        self.state["slices"] = [s.to_state() for s in self.slices.values()]
        self.state["rows"] = self.rows
        self.store.set_state(self.stream, self.state)

    def _finish(self) -> None:
        if self.state.get("refresh"):
            removed = _soft_delete_unseen(self.store, self.stream, self.provider)
            if removed:
                log.warning("%s: %d rows no longer listed upstream were marked _deleted", self.stream, removed)
        self.state = {"phase": "incremental", "events_cursor": self.state["events_cursor"], "rows": self.rows}
        self.store.set_state(self.stream, self.state)


def new_full_state(events_cursor: int, refresh: bool) -> dict[str, Any]:
    return {"phase": "full", "events_cursor": events_cursor, "slices": [Slice().to_state()], "refresh": refresh, "rows": 0}


ENUMS = EnumWatch()


def write_page(store: Store, stream: str, page: Page, *, track_seen: bool = False) -> int:
    """Upsert a page's objects and replace each parent's children (inside the caller's transaction)."""
    ENUMS.check(stream, page.objects)
    changed = store.upsert_objects(stream, page.objects)
    parent_columns = dict(CHILDREN.get(stream, ()))
    for child_table, parents in page.children.items():
        spec = RAW_TABLES[child_table]
        column = parent_columns[child_table]
        by_parent = {
            parent_id: [spec.to_row({**child, column: child.get(column) or parent_id}) for child in children]
            for parent_id, children in parents
        }
        changed += store.replace_children(child_table, spec.primary_key, column, by_parent)
    if track_seen and page.objects:
        _ensure_seen_table(store)
        store.db.conn.executemany(
            f"INSERT OR IGNORE INTO {_SEEN_TABLE}(stream, id) VALUES (?, ?)",
            [(stream, obj["id"]) for obj in page.objects],
        )
    return changed


def replace_children(store: Store, table: str, parent_column: str, parent_id: str, children: list[dict[str, Any]]) -> int:
    spec = RAW_TABLES[table]
    rows = [spec.to_row({**child, parent_column: child.get(parent_column) or parent_id}) for child in children]
    return store.replace_scope(table, spec.primary_key, {parent_column: parent_id}, rows)


def _ensure_seen_table(store: Store) -> None:
    store.db.execute(f"CREATE TABLE IF NOT EXISTS {_SEEN_TABLE} (stream TEXT, id TEXT, PRIMARY KEY (stream, id))")


def _soft_delete_unseen(store: Store, stream: str, provider: Provider) -> int:
    """After a full re-read: rows the provider no longer lists are gone upstream."""
    _ensure_seen_table(store)
    ids = [
        row[0]
        for row in store.db.execute(
            f'SELECT id FROM "{stream}" WHERE _deleted = 0 AND id NOT IN '
            f"(SELECT id FROM {_SEEN_TABLE} WHERE stream = ?)",
            [stream],
        ).fetchall()
    ]
    removed = store.mark_deleted(stream, [{"id": i} for i in ids])
    for child_table, parent_column in CHILDREN.get(stream, ()):
        for parent_id in ids:
            replace_children(store, child_table, parent_column, parent_id, [])
    store.db.execute(f"DELETE FROM {_SEEN_TABLE} WHERE stream = ?", [stream])
    return removed
