"""A read of a stream in pages: slices in flight, each page committed with its token.

Stream state while a read runs (JSON in ``_sync_state``)::

    {"phase": "full", "slices": [{gte, lt, after, after_created, partition}, ...],
     "refresh": bool, "rows": N, ...what the stream's way of staying up to date needs}

A stream kept up to date by events records ``events_cursor``, taken before the
first page, so the events replay after the read covers every change made while
it ran. A stream kept up to date by ``updated_since`` records the latest update
time its pages carried (``max_updated``) and, for a read of what changed,
the ``updated_since`` its tokens were issued under (a token is only valid with
its filters). A partitioned stream (Stripe lists test clocks' objects apart)
first lists its partitions and adds a slice per partition
(``partitions_listed`` then records it). When the last slice finishes and no
child list is left to read, the stream turns ``{"phase": "incremental", ...}``.

Child lists the provider leaves to read apart (``Page.deferred``: Stripe's
invoice lines beyond the ten an invoice embeds) do not hold their page back:
the page is written with its other children, and a row of ``_pending_children``
records (stream, child table, parent id) in the same transaction; each list is
then read by a job of its own and written with its row removed. So the invoice
list is read at its own endpoint's pace, the line reads queue up from the first
seconds (the busiest endpoint kept busy), and a crash loses no list: a resume
reads the pending ones. They are rows, not part of the state's JSON, because
thousands wait behind their endpoint on a large account: a list in the state
was rewritten whole at every page (20,000 customers: quadratic CPU, and
hundreds of MB of memory). A new read of a stream starts with none
(:func:`begin_read`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..errors import NotFound, PermissionDenied
from ..providers.base import INCREMENTAL_BY_EVENTS, CursorGone, FilterIgnored, Provider
from ..store import quarantine
from ..store import Store
from .pages import (
    ENUMS, PreparedPage, child_rows, prepare_page, replace_children, soft_delete_unseen, write_page, write_prepared,
)
from .pipeline import Job, Pipeline
from .demand import EndpointDemand
from .slices import FAR_REACH, PAGES_PER_SLICE, Slice, advance, chain_at, restart_without_cursor

log = logging.getLogger("billing_connector.sync")

__all__ = ["ENUMS", "FullRead", "begin_read", "new_full_state", "new_updated_state", "replace_children", "write_page"]

# A read of what changed starts this far behind the latest update time the previous read saw,
# at least, and further if that read took longer: a record updated while a read ran may carry
# an earlier time than records read after it, and the next read must still include it.
UPDATED_OVERLAP_SECONDS = 300

# A stream feeding a busier nested list splits early while that list has fewer reads than this
# waiting (ten seconds of them at Stripe's 25/s per endpoint): its endpoint has work queued then,
# and every further split only ends in one more partial page of the parent list (20,000 customers,
# live: 3,745 invoice requests for 2,996 pages, the invoices halved down to slices of two pages).
NESTED_BACKLOG = 250


class FullRead:
    """One stream's read, driven by the shared pipeline."""

    def __init__(self, store: Store, provider: Provider, stream: str, state: dict[str, Any], progress,
                 clock: Callable[[], float] = time.time, demand: EndpointDemand | None = None):
        self.clock = clock
        self.store = store
        self.provider = provider
        self.stream = stream
        self.spec = provider.streams[stream]
        self.state = state
        self.progress = progress
        self._ids = itertools.count()
        self.slices: dict[int, Slice] = {next(self._ids): Slice.from_state(s) for s in state["slices"]}
        self.rows = int(state.get("rows", 0))
        self.updated_since: int | None = state.get("updated_since")
        # A server seen ignoring `created` filters is read by token only, this run and after a resume.
        self.splittable = self.spec.sliceable and not state.get("unsliceable")
        self.partitioned = self.spec.partitioned
        # Its pages bring nested lists to read (invoice lines: the busiest endpoint): its pages
        # go first and, when endpoint budgets bind below the account's (live mode), it splits into
        # many slices early while that nested list is busier than its own (_split_now), so that
        # endpoint has work from the start. Where the account's limit binds (test mode) every
        # extra slice is a partial page the account pays for: it does not.
        self.feeds_nested = bool(self.spec.child_lists)
        self.limiter = limiter = getattr(provider, "limiter", None)
        self.endpoints_bind = limiter is not None and limiter.endpoints_bind()
        self.split_early = self.feeds_nested and self.endpoints_bind
        # the streams' densities, shared by the run's full reads: which list is the busiest (demand.py)
        self.demand = demand or EndpointDemand()
        # The provider can read a child list apart (Stripe): pages do not wait for them.
        self.defers = self.feeds_nested and callable(getattr(provider, "read_children", None))
        # Left by an interrupted run: rows of _pending_children, or (a read begun by a version that
        # kept them in the state) the state's list, moved into the table by start().
        self._legacy_pending = [(table, parent) for table, parent in state.pop("pending_children", None) or []]
        self.pending: set[tuple[str, str]] = set(store.pending_children(stream)) | set(self._legacy_pending)

    def start(self, pipeline: Pipeline) -> None:
        if self._legacy_pending:
            with self.store.db.atomic():
                self.store.add_pending_children(self.stream, self._legacy_pending)
                self._save()
            self._legacy_pending = []
        for child_table, parent_id in sorted(self.pending):   # left by an interrupted run
            self._submit_children(pipeline, child_table, parent_id)
        listed = self.state.get("partitions_listed") or self.state.get("test_clocks_listed")
        if self.partitioned and not listed:
            # Before any slice runs: the read must not finish before the partitions' slices exist.
            pipeline.submit(Job(self.stream, self._partitions, lambda found: self._add_partition_slices(pipeline, found)))
            return
        for slice_id in list(self.slices):
            self._submit(pipeline, slice_id)

    def _partitions(self) -> list[str]:
        try:
            return self.provider.partitions(self.stream)
        except NotFound:  # a server without them has nothing to add
            return []
        except PermissionDenied as exc:
            log.warning("%s: %s; objects listed only per partition (test clocks) are left out", self.stream, exc)
            return []

    def _add_partition_slices(self, pipeline: Pipeline, partitions: list[str]) -> None:
        for partition in partitions:
            self.slices[next(self._ids)] = Slice(partition=partition)
        self.state.pop("test_clocks_listed", None)
        self.state["partitions_listed"] = True
        self._save()
        self.start(pipeline)

    def _submit(self, pipeline: Pipeline, slice_id: int) -> None:
        current = self.slices[slice_id]

        def fetch() -> tuple[Slice, PreparedPage | FilterIgnored | None]:
            if slice_id not in self.slices:
                return current, None  # dropped by a fall-back while queued: no request for it
            try:
                extra = {"defer_children": True} if self.defers else {}
                page = self.provider.list_page(
                    self.stream, page_token=current.after, updated_since=self.updated_since,
                    created_gte=current.gte, created_lt=current.lt, partition=current.partition, **extra,
                )
            except CursorGone:
                return current, None
            except FilterIgnored as exc:
                return current, exc
            return current, prepare_page(self.stream, page, self.spec, self.store.raw_tables)

        def apply(result: tuple[Slice, PreparedPage | FilterIgnored | None]) -> None:
            if slice_id not in self.slices:
                return  # a slice dropped by the fall-back to a token-only read: its page is read again there
            if isinstance(result[1], FilterIgnored):
                self._read_by_cursor_only(pipeline, result[1])
                return
            self._apply(pipeline, slice_id, *result)

        pipeline.submit(Job(self.stream, fetch, apply, priority=0 if self.feeds_nested else 1))

    def _apply(self, pipeline: Pipeline, slice_id: int, current: Slice, page: PreparedPage | None) -> None:
        if page is None:
            log.warning("%s: cursor object vanished while paging; re-reading its second", self.stream)
            self.slices[slice_id] = restart_without_cursor(current)
            self._save()
            self._submit(pipeline, slice_id)
            return
        write_prepared(self.store, self.spec, page, track_seen=self.state.get("refresh", False))
        deferred = [entry for entry in page.deferred if entry not in self.pending]
        self.store.add_pending_children(self.stream, deferred)
        for child_table, parent_id in deferred:
            self.pending.add((child_table, parent_id))
            self._submit_children(pipeline, child_table, parent_id)
        self.rows += page.count
        if page.max_updated is not None:
            self.state["max_updated"] = max(page.max_updated, self.state.get("max_updated") or 0)
        self.progress.advance(self.stream, page.count)
        self._observe(page)
        reach = self._reach()
        chain = chain_at(reach, self.limiter.latency() if self.limiter is not None else None)
        nxt, splits = advance(current, page.ends, page.has_more, self.splittable, self._split_now(pipeline),
                              next_token=page.next_token, reach=reach, chain=chain)
        if nxt is None:
            del self.slices[slice_id]
        else:
            self.slices[slice_id] = nxt
        new_ids = [next(self._ids) for _ in splits]
        self.slices.update(zip(new_ids, splits))
        if not self.slices and not self.pending:
            self._finish()
            return
        self._save()
        if nxt is not None:
            self._submit(pipeline, slice_id)
        for new_id in new_ids:
            self._submit(pipeline, new_id)

    def _observe(self, page: PreparedPage) -> None:
        """A full page's span and nested reads, for the estimate of the busiest list (demand.py)."""
        first, last = (end.get("created") for end in (page.ends[0], page.ends[-1])) if page.ends else (None, None)
        if page.has_more and isinstance(first, int) and isinstance(last, int) and first > last:
            self.demand.observe(self.stream, first - last, Counter(table for table, _parent in page.deferred))

    def _split_now(self, pipeline: Pipeline) -> int:
        """How many more slices a bounded slice's remainder may be cut into as soon as it looks like
        more than two pages (0: none; ``advance``'s ``idle``).

        A stream feeding a busier nested list: at least one (``split_early``: that endpoint's reads
        must queue from the first seconds), as many as there are workers to spare, until
        :data:`NESTED_BACKLOG` of those reads wait; then, and for any other stream, only
        while another slice would be read sooner: workers to spare, and none of the stream's list
        requests waiting at the rate limiter, and no more slices than its endpoint can keep busy.
        Requests waiting there (its endpoint or the account at its limit) say it has slices enough;
        one more would only end in one more partial page (usage account, live: 1,926 requests for the
        1,662 pages of its busiest list). And a slice is a chain of pages, one request out at a time:
        slices beyond the endpoint's rate times the latency seen (``list_in_flight_needed``) keep no
        more requests going, they only end in more partial pages (b2c account, 2,000 customers, live:
        14 slices of invoices 1.5 s in, where about nine keep 25/s going; BENCHMARKS.md)."""
        if self.split_early and not self.demand.is_busiest(self.stream) and len(self.pending) < NESTED_BACKLOG:
            return max(1, pipeline.spare_capacity())
        waiting = getattr(self.provider, "list_waiting", None)
        if waiting is not None and waiting(self.stream):
            return 0
        spare = pipeline.spare_capacity()
        in_flight_needed = getattr(self.provider, "list_in_flight_needed", None)
        needed = in_flight_needed(self.stream) if in_flight_needed is not None else None
        return spare if needed is None else max(0, min(spare, needed - len(self.slices)))

    def _reach(self) -> int:
        """How far the frontier hands on (slices.py): far where the account's limit binds, and where
        endpoint budgets bind for a stream whose own list is the busiest (demand.py); short for the
        others, a stream feeding a busier nested list among them (its slices split early instead)."""
        if not self.endpoints_bind or self.demand.is_busiest(self.stream):
            return FAR_REACH
        return PAGES_PER_SLICE

    def _submit_children(self, pipeline: Pipeline, child_table: str, parent_id: str) -> None:
        """Read one parent's child list apart; written (and its pending entry dropped) when it comes."""
        child = next(c for c in self.spec.child_lists if c.table == child_table)

        def fetch() -> tuple[list[dict[str, Any]] | None, list]:
            children = self.provider.read_children(self.stream, child_table, parent_id)
            rejected: list = []
            return child_rows(child, parent_id, children, self.store.raw_tables, rejected), rejected

        def apply(result: tuple[list[dict[str, Any]] | None, list]) -> None:
            rows, rejected = result
            quarantine.record(self.store, rejected)
            if rows is not None:
                table = self.store.raw_tables[child_table]
                with self.store.checked_seqs.writing(self.store):   # rows checked by child_rows
                    self.store.replace_scope(child_table, table.primary_key, {child.parent_column: [parent_id]}, rows)
                quarantine.release(self.store, child_table, [row["id"] for row in rows])
            self.pending.discard((child_table, parent_id))
            self.store.drop_pending_child(self.stream, child_table, parent_id)
            if not self.slices and not self.pending:
                self._finish()

        pipeline.submit(Job(self.stream, fetch, apply, priority=0, lane=child_table))

    def _read_by_cursor_only(self, pipeline: Pipeline, reason: FilterIgnored) -> None:
        """Drop every slice and re-read the stream from its start, following the token alone.

        Sound because no filter is sent any more (so the server cannot ignore
        one) and rows already written are upserted again unchanged. Happens at
        most once per stream: the state remembers it across resumes.
        """
        log.debug("%s", reason)
        log.warning("%s: the server ignores `created` filters; re-reading the stream by cursor only", self.stream)
        self.splittable = False
        self.state["unsliceable"] = True
        # the default listing and each partition's listing still in flight, each from its start
        partitions = {None} | {s.partition for s in self.slices.values()}
        self.slices = {next(self._ids): Slice(partition=partition) for partition in partitions}
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
            removed = soft_delete_unseen(self.store, self.spec)
            if removed:
                log.warning("%s: %d rows no longer listed upstream were marked _deleted", self.stream, removed)
        if self.spec.incremental == INCREMENTAL_BY_EVENTS:
            self.state = {"phase": "incremental", "events_cursor": self.state["events_cursor"], "rows": self.rows}
        else:
            cursor = max(self.state.get("max_updated") or 0, self.state.get("updated_cursor") or 0)
            took = int(self.clock()) - int(self.state.get("started_at") or self.clock())
            self.state = {"phase": "incremental", "updated_cursor": cursor or None, "rows": self.rows,
                          "overlap": max(UPDATED_OVERLAP_SECONDS, took + 60), "incremental": self.spec.incremental}
        self.store.set_state(self.stream, self.state)


def begin_read(store: Store, stream: str, state: dict[str, Any]) -> None:
    """Record a new read of ``stream`` (inside the caller's transaction): its state, and no child
    list left to read by an earlier one (those lists are re-read with their parents, or gone)."""
    store.clear_pending_children(stream)
    store.set_state(stream, state)


def new_full_state(events_cursor: int, refresh: bool) -> dict[str, Any]:
    return {"phase": "full", "events_cursor": events_cursor, "slices": [Slice().to_state()], "refresh": refresh, "rows": 0}


def new_updated_state(previous: dict[str, Any] | None, *, refresh: bool, now: int,
                      window_start: int | None = None) -> dict[str, Any]:
    """A read of a stream kept up to date by ``updated_since``: in full (first read, refresh, or a
    stream without that filter), else of what changed since the previous read's latest update.
    ``window_start``: a windowed stream's read from scratch starts there, and deletes nothing."""
    previous = previous or {}
    cursor = previous.get("updated_cursor")
    windowed = window_start is not None
    state: dict[str, Any] = {"phase": "full", "slices": [Slice().to_state()], "refresh": refresh and not windowed,
                             "rows": 0, "updated_cursor": cursor, "started_at": now}
    if not refresh and cursor:
        overlap = int(previous.get("overlap") or UPDATED_OVERLAP_SECONDS)
        state["updated_since"] = max(0, int(cursor) - overlap)
    elif windowed:
        state["updated_since"] = max(0, window_start)
        state["window"] = True
    return state
