"""Sync orchestration, driven by the provider's catalog: reads where needed, then one events pass.

Each stream's catalog entry says how it stays up to date (``incremental``):

* ``events``: after its first full read, only the events pass — the events
  cursor is taken *before* the first page so the pass replays whatever changed
  during the read; a cursor older than the events the provider keeps
  (``provider.events_retention_seconds``) re-reads the stream in full with a
  warning, never silently; a key without events access (or an API without
  them) re-reads in full the streams the pass would have kept, with one
  warning saying what that costs and how to avoid it;
* ``updated_since``: every run lists what was updated since the latest update
  time the previous read saw (with an overlap), tokens checkpointed per page;
* ``full_read``: no such filter exists: the list is re-read whole each run,
  and rows it no longer lists are marked deleted.

``phase = full`` in ``_sync_state`` is a read interrupted by a crash: its
slices resume. The provider's history stream (Stripe: subscriptions) has its
first full read followed, once, by a read of the events the provider still
keeps (``EventsHistory``): the dates of changes a fresh store would otherwise
never learn. The whole run commits page by page; a failure in one stream (a 403, say)
stops that stream only, and the run ends with the first failure's exit code
after the others finished. This package imports no provider module.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..constants import PAGE_SIZE, EVENTS_SAFETY_LAG_SECONDS
from ..errors import ConfigError, ConnectorError, NotFound, PermissionDenied, StoreError
from ..providers.base import INCREMENTAL_BY_EVENTS, INCREMENTAL_BY_FULL_READ, Provider, child_streams
from ..store import Store
from ..store.failures import store_failure
from .demand import EndpointDemand
from .events import EventsHistory, EventsPass
from .full import FullRead, begin_read, new_full_state, new_updated_state
from .pipeline import Pipeline
from .progress import Progress

log = logging.getLogger("billing_connector.sync")

EVENTS_STREAM = "events"

# Set when the history stream's full read starts; cleared once its events are stored (EventsHistory).
HISTORY_PENDING = "events_history_pending"

# A cursor this close to the retention edge is treated as already too old:
# the scan itself takes time, and events at the edge may expire meanwhile.
RETENTION_MARGIN_SECONDS = 3600


@dataclass
class SyncReport:
    streams: list[str]
    full_reads: list[str] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)
    events_seen: int = 0
    objects_refetched: int = 0
    failures: dict[str, ConnectorError] = field(default_factory=dict)
    seconds: float = 0.0
    mrr: dict | None = None  # what the MRR refresh after the sync did
    # for the summary: rows created / updated / deleted per table, the provider's
    # request counters, and seconds per phase (fetch, mapping, mrr)
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    requests_by_endpoint: dict[str, int] = field(default_factory=dict)  # the provider's RequestTally
    phase_seconds: dict[str, float] = field(default_factory=dict)
    rejected: int = 0        # records quarantined this run (sync and MRR refresh): exit 8


def default_in_flight(rate: float) -> int:
    """Requests in flight to begin with: enough to keep `rate` going at up to ~0.5 s per request.

    More than the rate needs gains nothing (the limiter, not the pool, sets the
    pace) and makes more threads. Providers answer list pages in ~0.2-0.5 s; a
    slower server is met by :class:`InFlight` as its latency shows.
    """
    return max(8, min(64, math.ceil(rate * 0.5)))


# The most requests in flight a sync keeps when the server is slow: the ceiling at up to 3 s a
# request. A waiting request holds a thread and no parsed page (parse_slots.py): memory stays flat.
MOST_IN_FLIGHT_SECONDS = 3.0
MOST_IN_FLIGHT = 256
# A sync using more than this share of a core is bound by its own CPU: more requests in flight would
# only wait for it, and the latency it sees is then partly its own threads waiting for the CPU.
CPU_BOUND_SHARE = 0.7


class InFlight:
    """How many requests to keep in flight now: what the limiter's ceiling needs at the latency seen
    (``limiter.in_flight_needed``), between ``start`` and :attr:`most`; ``start`` while the sync is
    bound by its own CPU. Looked at again every ``every`` seconds; called by the pipeline's one thread.

    ``start`` (``default_in_flight``) covers up to ~0.5 s a request; at 800 ms a test-mode sync
    (25 requests/s) kept 13 in flight and reached 61 % of the ideal (BENCHMARKS.md). Unthrottled,
    the latency the threads see is their wait for the CPU: without the CPU test a sync at 0 latency
    grew to 256 in flight and cost a third more CPU and memory.
    """

    def __init__(self, limiter, start: int, *, every: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 cpu_clock: Callable[[], float] = time.process_time):
        self.start = start
        self.most = max(start, min(MOST_IN_FLIGHT, math.ceil(limiter.ceiling * MOST_IN_FLIGHT_SECONDS)))
        self._limiter = limiter
        self._every = every
        self._clock, self._cpu_clock = clock, cpu_clock
        self._at, self._cpu = clock(), cpu_clock()
        self._now = start

    def __call__(self) -> int:
        at = self._clock()
        if at - self._at >= self._every:
            cpu = self._cpu_clock()
            busy = (cpu - self._cpu) / (at - self._at)
            self._at, self._cpu = at, cpu
            needed = self._limiter.in_flight_needed()
            self._now = (self.start if needed is None or busy >= CPU_BOUND_SHARE
                         else max(self.start, min(self.most, needed)))
        return self._now


def resolve_streams(provider: Provider, requested: Iterable[str] | None) -> list[str]:
    """Validate stream names; child tables (subscription_items, ...) bring their parent.

    ``events`` is a stream name too (what `auth` and `doctor` check): the events
    pass keeps every selected stream up to date, so naming it adds no table.
    """
    children = child_streams(provider.streams)
    names = list(provider.streams)
    if not requested:
        return names
    chosen = []
    for name in requested:
        name = children.get(name, name)
        if name == EVENTS_STREAM:
            continue
        if name not in provider.streams:
            valid = ", ".join([*names, *children, EVENTS_STREAM])
            raise ConfigError(f"unknown stream {name!r}; valid streams: {valid}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def run_sync(
    store: Store,
    provider: Provider,
    *,
    streams: list[str],
    full_refresh: bool = False,
    workers: int = 16,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
    in_flight: InFlight | None = None,
) -> SyncReport:
    """Bring the selected streams up to date. The store must already be bound to the account.

    ``workers`` requests are kept in flight; with ``in_flight``, as many as it says."""
    progress = progress or Progress(enabled=False)
    started = time.monotonic()
    now = int(clock())
    report = SyncReport(streams=list(streams))

    def make_pipeline() -> Pipeline:
        return Pipeline(workers, capacity=in_flight, most=in_flight.most if in_flight is not None else None)

    history_stream = getattr(provider, "history_stream", None)
    demand = EndpointDemand()   # shared by the run's full reads: which list is the busiest
    try:
        fulls: list[FullRead] = []
        for stream in streams:
            state = store.get_state(stream)
            if provider.streams[stream].incremental == INCREMENTAL_BY_EVENTS:
                state = _start_events_stream(store, provider, stream, state, now, full_refresh, history_stream)
            elif state is None or state.get("phase") != "full":
                # a stream listed by update time: every run reads (what changed, or all of it)
                spec = provider.streams[stream]
                refresh = state is not None and (full_refresh or spec.incremental == INCREMENTAL_BY_FULL_READ)
                window_start = None
                if spec.first_read_window_seconds and (refresh or not (state or {}).get("updated_cursor")):
                    # a log of which only the recent part is wanted: counted back from its newest record
                    try:
                        window_start = (provider.latest_time(stream) or now) - spec.first_read_window_seconds
                    except ConnectorError as exc:
                        report.failures[stream] = exc
                        continue
                state = new_updated_state(state, refresh=refresh, now=now, window_start=window_start)
                with store.db.atomic():
                    begin_read(store, stream, state)
            if state["phase"] == "full":
                fulls.append(FullRead(store, provider, stream, state, progress, clock=clock, demand=demand))
                if "updated_since" not in state:
                    report.full_reads.append(stream)

        history = _pending_history(store, provider, history_stream, fulls, now, progress)
        failures = _read_in_full(fulls, make_pipeline, store, report, history,
                                 max(now - provider.events_retention_seconds + RETENTION_MARGIN_SECONDS, 0))
        if history is not None:
            report.events_seen += history.events_seen
            unreadable = {k: v for k, v in failures.items() if isinstance(v, PermissionDenied)}
            report.failures.update({k: v for k, v in failures.items() if k not in unreadable})
            if unreadable:
                # a server without events: MRR dates changes by the rule for undated ones; say so
                log.warning("events: %s; changes made before this sync are dated by the rule for "
                            "undated changes (docs/mrr-rules.md)", next(iter(unreadable.values())))
            elif not failures and history_stream not in report.failures \
                    and (store.get_state(history_stream) or {}).get("phase") == "incremental":
                with store.db.atomic():
                    store.set_meta(HISTORY_PENDING, "0")

        states = {stream: store.get_state(stream) or {} for stream in streams if stream not in report.failures
                  and provider.streams[stream].incremental == INCREMENTAL_BY_EVENTS}
        cursors = {
            stream: int(state.get("events_cursor", 0))
            for stream, state in states.items()
            if state.get("phase") == "incremental"
        }
        events = EventsPass(store, provider, cursors, now - EVENTS_SAFETY_LAG_SECONDS, progress)
        try:
            failures = events.run(make_pipeline)
        except PermissionDenied as exc:
            failures = {EVENTS_STREAM: exc}
        if isinstance(failures.get(EVENTS_STREAM), PermissionDenied):
            stale = [stream for stream in cursors if stream not in report.full_reads]
            _warn_events_refused(store, provider, stale, failures[EVENTS_STREAM])
            fulls = []
            for stream in stale:
                state = new_full_state(now - EVENTS_SAFETY_LAG_SECONDS, refresh=True)
                with store.db.atomic():
                    begin_read(store, stream, state)
                fulls.append(FullRead(store, provider, stream, state, progress, clock=clock, demand=demand))
                report.full_reads.append(stream)
            failures = {}
            _read_in_full(fulls, make_pipeline, store, report)
        report.failures.update(failures)
        _excuse_optional(provider, report)
        report.events_seen = events.events_seen
        report.objects_refetched = events.objects_refetched
    except sqlite3.Error as exc:
        # by SQLite's result code: a full disk, a read-only file, a busy store each say so
        raise store_failure(exc, store.path) or StoreError(
            f"the store failed ({exc}); nothing after the last committed page was written"
        ) from None
    finally:
        progress.close()
    report.rejected = store.rejected_this_run
    report.seconds = time.monotonic() - started
    return report


def _pending_history(store: Store, provider: Provider, history_stream: str | None, fulls: list[FullRead],
                     now: int, progress: Progress) -> EventsHistory | None:
    """The read of the events the provider still keeps, when the history stream's first full read
    needs them (``HISTORY_PENDING``): up to where that read's events cursor starts."""
    if not history_stream or store.meta(HISTORY_PENDING) != "1":
        return None
    state = store.get_state(history_stream) or {}
    if state.get("phase") != "incremental" and history_stream not in {full.stream for full in fulls}:
        return None   # its full read is not under way this run: the events wait for it
    return EventsHistory(store, provider, {}, int(state.get("events_cursor", now)), progress)


def _read_in_full(fulls: list[FullRead], make_pipeline: Callable[[], Pipeline], store: Store, report: SyncReport,
                  history: EventsHistory | None = None, history_since: int = 0) -> dict[str, ConnectorError]:
    """Run the full reads (and the history's events since ``history_since``, alongside) in one pipeline;
    the stream failures go to the report, the history's are returned."""
    if not fulls and history is None:
        return {}
    pipeline = make_pipeline()
    for full in fulls:
        full.start(pipeline)
    if history is not None:
        history.start(pipeline, history_since)
    failures = pipeline.run(store.db.atomic)
    report.failures.update({k: v for k, v in failures.items() if k != EVENTS_STREAM})
    for full in fulls:
        report.rows_read[full.stream] = full.rows
    return {k: v for k, v in failures.items() if k == EVENTS_STREAM}


def _excuse_optional(provider: Provider, report: SyncReport) -> None:
    """A stream nothing else depends on (``optional``: Chargebee's events, kept for ``explain``) that
    the key may not read is a warning, not a failed sync."""
    for stream, exc in list(report.failures.items()):
        spec = provider.streams.get(stream)
        if isinstance(exc, PermissionDenied) and spec is not None and spec.optional:
            del report.failures[stream]
            log.warning("%s: not read (%s); nothing else depends on it: `explain` shows no %s", stream, exc, stream)


def _start_events_stream(store: Store, provider: Provider, stream: str, state: dict | None, now: int,
                         full_refresh: bool, history_stream: str | None) -> dict:
    """The state a stream kept by events starts this run in: a new full read where one is needed."""
    reason = _needs_full_read(state, now, full_refresh, provider.events_retention_seconds)
    if not reason:
        return state
    if reason == "stale":
        log.warning(
            "%s: the events cursor is older than the %d days of events %s keeps; re-reading the stream in full",
            stream, provider.events_retention_seconds // 86400, provider.label,
        )
    state = new_full_state(now - EVENTS_SAFETY_LAG_SECONDS, refresh=state is not None)
    with store.db.atomic():
        begin_read(store, stream, state)
        if stream == history_stream:
            store.set_meta(HISTORY_PENDING, "1")
    return state


def _warn_events_refused(store: Store, provider: Provider, streams: list[str], refusal: PermissionDenied) -> None:
    """One warning: what a sync without events costs, and how to get them."""
    reason = ("this API serves no events list" if isinstance(refusal, NotFound)
              else "the API key may not read events (403)")
    grant = f"grant '{provider.events_permission}' to the restricted key"
    if not streams:
        log.warning("%s: the next sync will re-read every stream in full; %s to sync only what changed",
                    reason, grant)
        return
    counts = store.table_counts()
    rows = sum(counts.get(stream, 0) for stream in streams)
    pages = sum(max(1, math.ceil(counts.get(stream, 0) / PAGE_SIZE)) for stream in streams)
    log.warning(
        "%s: re-reading %s in full instead of only what changed (about %s requests for %s rows, "
        "on every sync); %s to make syncs incremental",
        reason, ", ".join(streams), f"{pages:,}", f"{rows:,}", grant,
    )


def _needs_full_read(state: dict | None, now: int, full_refresh: bool, retention_seconds: int) -> str | None:
    if state is None:
        return "first"
    if full_refresh:
        return "refresh"
    if state.get("phase") == "incremental":
        if int(state.get("events_cursor", 0)) < now - retention_seconds + RETENTION_MARGIN_SECONDS:
            return "stale"
    return None
