"""The sync and auth jobs: settings in, a report out.

Order matters for "nothing written on bad input": the key is checked, then the
account is identified over the network, and only then is the store opened (or
created) and bound — a wrong key or the other mode's store leaves no file behind.
Into a store not made yet, the streams' first pages are asked for while the
account is identified (``providers/read_ahead.py``): their answers wait in
memory until the sync asks for them.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from .. import sync_health
from ..config import Settings
from ..connections import Connection, connect
from ..providers.base import INCREMENTAL_BY_EVENTS
from ..collector import fewer_collections
from ..store import Store, closed_on_failure, first_load, open_store
from ..store.bulk import has_no_rows, page_cache, rollback_journal, wal_checkpoints_every
from ..sync import EVENTS_STREAM, SyncReport, resolve_streams, run_sync
from ..sync.arenas import limit_malloc_arenas
from ..sync.progress import Progress

log = logging.getLogger("billing_connector")

# While the streams are read: a 16 MB page cache (SQLite's default is 2 MB, less than the raw
# tables' indexes take once an account has thousands of customers) and a checkpoint every 8,192
# pages (32 MB of WAL) instead of every 1,000. At 2,000 customers, 7 pairs of runs alternated:
# 3 % less CPU for the sync, 15 MB more memory (BENCHMARKS.md, fifth session).
SYNC_CACHE_KIB = 16 * 1024
SYNC_CHECKPOINT_PAGES = 8192


def sync_and_count(settings: Settings, **options) -> tuple[SyncReport, dict[str, int]]:
    """:func:`sync` (same options), then the live rows per stream; the store closed."""
    report, store = sync(settings, **options)
    try:
        return report, store.table_counts()
    finally:
        store.close()


def load_mrr_policy(settings: Settings):
    from .mrr import policy_named

    return policy_named(settings, None)


def sync(
    settings: Settings, *, full_refresh: bool = False, quiet: bool = False, skip_mrr: bool = False
) -> tuple[SyncReport, Store]:
    """Sync, then bring the neutral tables and MRR facts up to date (the nightly job, whole)."""
    began = time.monotonic()
    policy = load_mrr_policy(settings)  # a bad policy is a config error before any request
    conn = connect(settings)
    named = resolve_streams(conn.provider, settings.streams)   # a bad stream name fails before any request
    try:
        read_ahead = getattr(conn.provider, "read_ahead_first_pages", None)
        if read_ahead is not None and not os.path.exists(settings.db):
            # a first sync reads every stream from its first page: those need no account, and the
            # round trip naming it was one in which nothing else went out (a provider without it
            # starts its streams after, as before). Its threads come before the sync's: the cap on
            # malloc's arenas first (sync/arenas.py; it holds for threads made after it only)
            limit_malloc_arenas()
            read_ahead(named)
        identity = conn.provider.identify()
        # the account's own streams (a Chargebee site's depend on its Product Catalog version)
        streams = resolve_streams(conn.provider, settings.streams)
        # a store of another provider's account is refused here, before anything is written to it
        store = open_store(settings.db, provider=identity.provider)
    except BaseException:
        conn.provider.close()   # the requests read ahead end with it (read_ahead.py)
        raise
    try:
        with closed_on_failure(store):   # a full disk or a busy store said as such; the store closed
            report = _sync_into(store, conn, identity, streams, policy, began=began, full_refresh=full_refresh,
                                quiet=quiet, skip_mrr=skip_mrr)
        return report, store
    finally:
        conn.provider.close()


def _sync_into(
    store: Store, conn: Connection, identity, streams: list[str], policy, *, began: float, full_refresh: bool,
    quiet: bool, skip_mrr: bool,
) -> SyncReport:
    """The sync itself, into the open store: bind the account, read the streams, refresh MRR, record the run."""
    store.bind_account(identity)
    workers = conn.workers
    log.info(
        "syncing %d streams of %s (%s mode) into %s: at most %s, %d in flight",
        len(streams), identity.account_id, "live" if identity.livemode else "test", store.path, conn.pace,
        workers,
    )
    with store.db.atomic():
        store.set_meta(sync_health.META_STARTED, str(int(time.time())))
        sync_health.record_requests(store, None)
    progress = Progress.for_terminal(quiet)
    progress.held = True   # the mapping and MRR phases get their lines after the streams'
    store.changes = {}
    try:
        # fewer_collections: the sync allocates millions of short-lived objects (parsed pages, rows)
        # that hold no cycles; at the default threshold the cycle collector was ~1.5 CPU s of the
        # job at 2,000 customers, all while the streams were read
        # A first sync into a new store is a bulk load: with a rollback journal its pages are written
        # once, not into the WAL and again by each checkpoint (store.bulk.rollback_journal). 20,000
        # customers unthrottled: 7.4 -> 4.2 GiB written, 122 -> 117 CPU s (medians of 5 runs each);
        # 2,000: 9 % less CPU, 4 alternated pairs (BENCHMARKS.md, sixteenth session).
        new_store = all(has_no_rows(store.db, table) for table in store.raw_tables)
        with page_cache(store.db, SYNC_CACHE_KIB), rollback_journal(store.db, new_store), \
                wal_checkpoints_every(store.db, SYNC_CHECKPOINT_PAGES), fewer_collections():
            # the tables empty so far fill without their key indexes, built once the streams are read
            first_load.begin(store)
            report = run_sync(
                store, conn.provider, streams=streams, full_refresh=full_refresh, workers=workers, progress=progress,
                in_flight=conn.in_flight,
            )
            first_load.finish(store)
        report.changes, store.changes = store.changes, None
        report.phase_seconds["fetch"] = report.seconds
        if not report.failures and not skip_mrr:
            # With a stream missing, MRR would be computed from partial data: keep
            # the last good figures instead and say so (the failure exits non-zero).
            from ..refresh import refresh_after_sync

            report.mrr = refresh_after_sync(store, policy, phase=progress.phase)
            report.phase_seconds.update(progress.seconds)
        report.rejected = store.rejected_this_run  # the sync's and the MRR refresh's quarantines
    finally:
        store.changes = None
        progress.stop()
    report.phase_seconds["total"] = time.monotonic() - began
    log.info("sync finished in %.1fs: %s", report.phase_seconds["total"],
             ", ".join(f"{name} {seconds:.1f}s" for name, seconds in report.phase_seconds.items() if name != "total"))
    by_endpoint = conn.provider.tally.snapshot()
    report.requests = {
        "requests": sum(by_endpoint.values()),
        "retries": conn.provider.retries,
        "rate_limited": conn.provider.rate_limited,
    }
    report.requests_by_endpoint = by_endpoint
    with store.db.atomic():
        store.set_meta(sync_health.META_FINISHED, str(int(time.time())))
        store.set_meta(sync_health.META_OK, "0" if report.failures else "1")
        sync_health.record_requests(store, by_endpoint)
    return report


def auth(settings: Settings) -> dict[str, Any]:
    """One cheap call for the account, then one tiny list per stream to learn the key's reach.

    ``needed``: the streams a sync with these settings needs — the selected ones but the
    ``optional`` (Chargebee's events: read when allowed), and, where the catalog keeps
    streams up to date by events (Stripe), ``events`` (without it every sync re-reads them).
    """
    conn = connect(settings)
    resolve_streams(conn.provider, settings.streams)   # a bad stream name fails before any request
    identity = conn.provider.identify()
    selected = resolve_streams(conn.provider, settings.streams)
    by_events = any(conn.provider.streams[s].incremental == INCREMENTAL_BY_EVENTS for s in selected)
    required = [s for s in selected if not conn.provider.streams[s].optional]
    needed = [*required, EVENTS_STREAM] if by_events else required
    streams = []
    for stream in dict.fromkeys([*conn.provider.streams, EVENTS_STREAM]):
        reason = conn.provider.check_stream_access(stream)
        streams.append({"stream": stream, "readable": reason is None, "reason": reason})
    return {
        "account_id": identity.account_id,
        "mode": "live" if identity.livemode else "test",
        "key": conn.key_description,
        "api_version": identity.api_version,
        "streams": streams,
        "needed": needed,
    }
