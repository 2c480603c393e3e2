"""The jobs the CLI runs, as plain functions: settings in, results out.

Order matters for "nothing written on bad input": the key is checked, then the
account is identified over the network, and only then is the store opened (or
created) and bound — a wrong key or the other mode's store leaves no file behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

from .store import quarantine
from .config import Settings
from .connections import Connection, connect
from .providers.base import INCREMENTAL_BY_EVENTS
from .store import Store, closed_on_failure, open_store, opened
from .sync import EVENTS_STREAM, SyncReport, resolve_streams, run_sync
from . import sync_health
from .sync.progress import Progress

log = logging.getLogger("billing_connector")


__all__ = ["ChargebeeDemo", "Connection", "auth", "connect", "demo", "demo_chargebee", "status", "sync"]


def load_mrr_policy(settings: Settings):
    from .mrr.policy import load_policy

    return load_policy(settings.policy, settings.mrr_rules)


def sync(
    settings: Settings, *, full_refresh: bool = False, quiet: bool = False, skip_mrr: bool = False
) -> tuple[SyncReport, Store]:
    """Sync, then bring the neutral tables and MRR facts up to date (the nightly job, whole)."""
    began = time.monotonic()
    policy = load_mrr_policy(settings)  # a bad policy is a config error before any request
    conn = connect(settings)
    resolve_streams(conn.provider, settings.streams)   # a bad stream name fails before any request
    identity = conn.provider.identify()
    # the account's own streams (a Chargebee site's depend on its Product Catalog version)
    streams = resolve_streams(conn.provider, settings.streams)
    # a store of another provider's account is refused here, before anything is written to it
    store = open_store(settings.db, provider=identity.provider)
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
    progress = Progress.for_terminal(quiet)
    progress.held = True   # the mapping and MRR phases get their lines after the streams'
    store.changes = {}
    try:
        report = run_sync(
            store, conn.provider, streams=streams, full_refresh=full_refresh, workers=workers, progress=progress,
        )
        report.changes, store.changes = store.changes, None
        report.phase_seconds["fetch"] = report.seconds
        if not report.failures and not skip_mrr:
            # With a stream missing, MRR would be computed from partial data: keep
            # the last good figures instead and say so (the failure exits non-zero).
            from .refresh import refresh_after_sync

            report.mrr = refresh_after_sync(store, policy, phase=progress.phase)
            report.phase_seconds.update(progress.seconds)
        report.rejected = store.rejected_this_run  # the sync's and the MRR refresh's quarantines
    finally:
        store.changes = None
        progress.stop()
    report.phase_seconds["total"] = time.monotonic() - began
    log.info("sync finished in %.1fs: %s", report.phase_seconds["total"],
             ", ".join(f"{name} {seconds:.1f}s" for name, seconds in report.phase_seconds.items() if name != "total"))
    report.requests = {
        "requests": conn.provider.requests_made,
        "retries": conn.provider.retries,
        "rate_limited": conn.provider.rate_limited,
    }
    with store.db.atomic():
        store.set_meta(sync_health.META_FINISHED, str(int(time.time())))
        store.set_meta(sync_health.META_OK, "0" if report.failures else "1")
    return report


def auth(settings: Settings) -> dict[str, Any]:
    """One cheap call for the account, then one tiny list per stream to learn the key's reach.

    ``needed``: the streams a sync with these settings reads — the selected ones
    and, where the catalog keeps streams up to date by events (Stripe), ``events``
    (without it every sync re-reads them).
    """
    conn = connect(settings)
    resolve_streams(conn.provider, settings.streams)   # a bad stream name fails before any request
    identity = conn.provider.identify()
    selected = resolve_streams(conn.provider, settings.streams)
    by_events = any(conn.provider.streams[s].incremental == INCREMENTAL_BY_EVENTS for s in selected)
    needed = [*selected, EVENTS_STREAM] if by_events else selected
    streams = []
    for stream in [*conn.provider.streams, EVENTS_STREAM]:
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


def status(settings: Settings) -> dict[str, Any]:
    """What the store holds and what the next sync will do, without touching the network or the file."""
    from .mapping.schema import unclassified_summary
    from .mrr.model import unplaced_summary
    from .output_values import iso_utc

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
    from .output_values import money

    return [
        {**{k: v for k, v in item.items() if k not in ("amount_minor", "currency")},
         "amount": money(item["amount_minor"], item["currency"])}
        for item in groups
    ]


# A recognisably fake key for the bundled demo server; it unlocks nothing anywhere else.
DEMO_API_KEY = "sk_test_demo_billing_connector_0000"


@contextlib.contextmanager
def _demo_key(variable: str, key: str) -> Iterator[None]:
    """The demo server's fake key in ``variable`` while the demo runs; the previous value restored."""
    previous = os.environ.get(variable)
    os.environ[variable] = key
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous


def demo(settings: Settings, *, customers: int, seed: int, quiet: bool = True) -> tuple[SyncReport, Store]:
    """Start the bundled demo account on 127.0.0.1, sync it into ``settings.db``, stop it."""
    from .demo.server import DemoServer

    with DemoServer(seed=seed, customers=customers) as server:
        demo_settings = replace(settings, provider="stripe", api_base=server.url,
                                api_key_env="BILLING_CONNECTOR_DEMO_KEY")
        # The demo server has no rate limit; Stripe's 25/s (per account or per
        # endpoint) would only make the demo slow.
        if demo_settings.max_requests_per_second is None:
            demo_settings = replace(
                demo_settings, max_requests_per_second=500.0, max_requests_per_second_per_endpoint=500.0
            )
        with _demo_key("BILLING_CONNECTOR_DEMO_KEY", DEMO_API_KEY):
            return sync(demo_settings, quiet=quiet)


@dataclass
class ChargebeeDemo:
    report: SyncReport
    store: Store
    site: str
    site_day: date                 # the fake site's "now": MRR is shown on that day
    budget_per_minute: int
    busiest_minute: int            # the most requests the server saw in one minute
    server_429s: int


def demo_chargebee(settings: Settings, *, customers: int, seed: int, quiet: bool = True) -> ChargebeeDemo:
    """Serve the fake Chargebee site on 127.0.0.1, sync it into ``settings.db`` under a test site's
    budget (the Starter limit, 150/minute, of which the configured share), stop it.

    Computed under the ``chargebee`` MRR preset unless a policy was configured.
    """
    from .connections import chargebee_budget
    from .demo_chargebee import DEFAULT_KEY, NOW, FakeChargebee, build_site
    from .providers.chargebee import API_KEY_ENV

    site = build_site(seed=seed, customers=customers)
    with FakeChargebee(site) as server:
        demo_settings = replace(settings, provider="chargebee", chargebee_site=site.name,
                                chargebee_api_base=server.url)
        if settings.sources.get("policy", "default") == "default":
            demo_settings = replace(demo_settings, policy="chargebee")
        with _demo_key(API_KEY_ENV, DEFAULT_KEY):
            report, store = sync(demo_settings, quiet=quiet)
        busiest = max(server.stats.windows.values(), default=0)
        rejected = server.stats.rate_limited
    return ChargebeeDemo(report, store, site.name, datetime.fromtimestamp(NOW, tz=timezone.utc).date(),
                         chargebee_budget(demo_settings, site.name), busiest, rejected)
