"""The full read of a stream: slices in flight, each page committed with its cursor.

Stream state while a full read runs (JSON in ``_sync_state``)::

    {"phase": "full", "events_cursor": T, "slices": [{gte, lt, after, after_created}, ...],
     "refresh": bool, "rows": N}

``events_cursor`` is taken before the first page, so the events replay after
the full read covers every change made while it ran. A stream Stripe lists
without the objects of test clocks (customers, subscriptions) first lists the
test clocks and adds a slice per clock (``test_clocks_listed`` then records it). When the last slice
finishes the stream turns ``{"phase": "incremental", "events_cursor": T, ...}``.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from ..errors import NotFound, PermissionDenied
from ..providers.base import CursorGone, FilterIgnored, Provider
from ..store import Store
from .pages import CHILDREN, ENUMS, PreparedPage, prepare_page, replace_children, soft_delete_unseen, write_page, write_prepared
from .pipeline import Job, Pipeline
from .slices import Slice, advance, restart_without_cursor

log = logging.getLogger("billing_connector.sync")

__all__ = ["CHILDREN", "ENUMS", "FullRead", "new_full_state", "replace_children", "write_page"]


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
        # A server seen ignoring `created` filters is read by cursor only, this run and after a resume.
        self.splittable = self.provider.streams[stream].sliceable and not state.get("unsliceable")
        self.by_test_clock = self.provider.streams[stream].by_test_clock

    def start(self, pipeline: Pipeline) -> None:
        if self.by_test_clock and not self.state.get("test_clocks_listed"):
            # Before any slice runs: the read must not finish before the clocks' slices exist.
            pipeline.submit(Job(self.stream, self._test_clocks, lambda clocks: self._add_clock_slices(pipeline, clocks)))
            return
        for slice_id in list(self.slices):
            self._submit(pipeline, slice_id)

    def _test_clocks(self) -> list[str]:
        try:
            return self.provider.test_clocks()
        except NotFound:  # a server without test clocks has nothing to add
            return []
        except PermissionDenied as exc:
            log.warning("%s: %s; objects attached to test clocks are left out", self.stream, exc)
            return []

    def _add_clock_slices(self, pipeline: Pipeline, clocks: list[str]) -> None:
        for clock in clocks:
            self.slices[next(self._ids)] = Slice(test_clock=clock)
        self.state["test_clocks_listed"] = True
        self._save()
        self.start(pipeline)

    def _submit(self, pipeline: Pipeline, slice_id: int) -> None:
        current = self.slices[slice_id]

        def fetch() -> tuple[Slice, PreparedPage | FilterIgnored | None]:
            if slice_id not in self.slices:
                return current, None  # dropped by a fall-back while queued: no request for it
            try:
                page = self.provider.list_page(
                    self.stream, starting_after=current.after, created_gte=current.gte, created_lt=current.lt,
                    test_clock=current.test_clock,
                )
            except CursorGone:
                return current, None
            except FilterIgnored as exc:
                return current, exc
            return current, prepare_page(self.stream, page)

        def apply(result: tuple[Slice, PreparedPage | FilterIgnored | None]) -> None:
            if slice_id not in self.slices:
                return  # a slice dropped by the fall-back to a cursor-only read: its page is read again there
            if isinstance(result[1], FilterIgnored):
                self._read_by_cursor_only(pipeline, result[1])
                return
            self._apply(pipeline, slice_id, *result)

        pipeline.submit(Job(self.stream, fetch, apply))

    def _apply(self, pipeline: Pipeline, slice_id: int, current: Slice, page: PreparedPage | None) -> None:
        if page is None:
            log.warning("%s: cursor object vanished while paging; re-reading its second", self.stream)
            self.slices[slice_id] = restart_without_cursor(current)
            self._save()
            self._submit(pipeline, slice_id)
            return
        write_prepared(self.store, self.stream, page, track_seen=self.state.get("refresh", False))
        self.rows += page.count
        self.progress.advance(self.stream, page.count)
        nxt, split = advance(current, page.ends, page.has_more, self.splittable, pipeline.has_idle_capacity())
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

    def _read_by_cursor_only(self, pipeline: Pipeline, reason: FilterIgnored) -> None:
        """Drop every slice and re-read the stream from its start, following the cursor alone.

        Sound because no filter is sent any more (so the server cannot ignore
        one) and rows already written are upserted again unchanged. Happens at
        most once per stream: the state remembers it across resumes.
        """
        log.debug("%s", reason)
        log.warning("%s: the server ignores `created` filters; re-reading the stream by cursor only", self.stream)
        self.splittable = False
        self.state["unsliceable"] = True
        # the default listing and each test clock's listing still in flight, each from its start
        clocks = {None} | {s.test_clock for s in self.slices.values()}
        self.slices = {next(self._ids): Slice(test_clock=clock) for clock in clocks}
        self.rows = 0
        self._save()
        for slice_id in list(self.slices):
            self._submit(pipeline, slice_id)

    def _save(self) -> None:
        self.state["slices"] = [s.to_state() for s in self.slices.values()]
        self.state["rows"] = self.rows
        self.store.set_state(self.stream, self.state)

    def _finish(self) -> None:
        if self.state.get("refresh"):
            removed = soft_delete_unseen(self.store, self.stream)
            if removed:
                log.warning("%s: %d rows no longer listed upstream were marked _deleted", self.stream, removed)
        self.state = {"phase": "incremental", "events_cursor": self.state["events_cursor"], "rows": self.rows}
        self.store.set_state(self.stream, self.state)


def new_full_state(events_cursor: int, refresh: bool) -> dict[str, Any]:
    return {"phase": "full", "events_cursor": events_cursor, "slices": [Slice().to_state()], "refresh": refresh, "rows": 0}
