"""The jobs the CLI runs, as plain functions: settings in, results out.

Order matters for "nothing written on bad input": the key is checked, then the
account is identified over the network, and only then is the store opened (or
created) and bound — a wrong key or the other mode's store leaves no file behind.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from .config import Settings, describe_key
from .http import RateLimiter, RetryPolicy
from .providers.stripe import StripeProvider
from .store import Store, open_store
from .sync import (
    SyncReport,
    default_in_flight,
    default_rate,
    resolve_streams,
    run_sync,
)
from .sync.progress import Progress

log = logging.getLogger("billing_connector")


@dataclass
class Connection:
    provider: StripeProvider
    key_description: str
    livemode: bool


def connect(settings: Settings, environ: dict[str, str] | None = None) -> Connection:
    """A provider for the configured key, rate-limited for the key's mode."""
    key = settings.api_key(environ)
    livemode = "_live_" in key
    rate = settings.max_requests_per_second or default_rate(livemode)
    limiter = RateLimiter(rate, per_endpoint=min(rate, settings.max_requests_per_second_per_endpoint))
    provider = StripeProvider(
        key,
        api_base=settings.api_base,
        timeout=settings.timeout_seconds,
        limiter=limiter,
        retry_policy=RetryPolicy(max_attempts=settings.max_retries, max_seconds=settings.max_retry_seconds),
    )
    return Connection(provider, describe_key(key), livemode)


def load_mrr_policy(settings: Settings):
    from .mrr.policy import load_policy

    return load_policy(settings.policy, settings.mrr_rules)


def sync(
    settings: Settings, *, full_refresh: bool = False, quiet: bool = False, skip_mrr: bool = False
) -> tuple[SyncReport, Store]:
    """Sync, then bring the neutral tables and MRR facts up to date (the nightly job, whole)."""
    policy = load_mrr_policy(settings)  # a bad policy is a config error before any request
    conn = connect(settings)
    streams = resolve_streams(conn.provider, settings.streams)
    identity = conn.provider.identify()
    store = open_store(settings.db)
    try:
        store.bind_account(identity)
        rate = conn.provider.limiter.ceiling if conn.provider.limiter else 25
        workers = settings.max_in_flight or default_in_flight(rate)
        # max_in_flight bounds nested-list follow-ups too: with 1, one request at a time
        conn.provider.nested_workers = workers
        report = run_sync(
            store,
            conn.provider,
            streams=streams,
            full_refresh=full_refresh,
            workers=workers,
            progress=Progress.for_terminal(quiet),
        )
        if not report.failures and not skip_mrr:
            # With a stream missing, MRR would be computed from partial data: keep
            # the last good figures instead and say so (the failure exits non-zero).
            from .refresh import refresh_after_sync

            report.mrr = refresh_after_sync(store, policy)
        with store.db.atomic():
            store.set_meta("last_sync_finished_at", str(int(time.time())))
            store.set_meta("last_sync_ok", "0" if report.failures else "1")
        return report, store
    except BaseException:
        store.close()
        raise
    finally:
        conn.provider.close()


def auth(settings: Settings) -> dict[str, Any]:
    """One cheap call for the account, then one tiny list per stream to learn the key's reach."""
    conn = connect(settings)
    identity = conn.provider.identify()
    access = {}
    for stream in [*conn.provider.streams, "events"]:
        reason = conn.provider.check_stream_access(stream)
        access[stream] = "ok" if reason is None else reason
    return {
        "account_id": identity.account_id,
        "mode": "live" if identity.livemode else "test",
        "key": conn.key_description,
        "api_version": identity.api_version,
        "streams": access,
    }


def status(settings: Settings) -> dict[str, Any]:
    """What the store holds, without touching the network."""
    store = open_store(settings.db, read_only=True)
    try:
        account = store.account()
        counts = store.table_counts()
        states = store.all_states()
        from .mapping.schema import unclassified_summary

        unclassified = unclassified_summary(store) if store.db["billing_unclassified"].exists() else []
        from .mrr.model import unplaced_summary
        return {
            "db": settings.db,
            "account_id": account.account_id if account else None,
            "mode": ("live" if account.livemode else "test") if account else None,
            "api_version": account.api_version if account else None,
            "last_sync_finished_at": store.meta("last_sync_finished_at"),
            "last_sync_ok": store.meta("last_sync_ok"),
            "streams": {
                table: {
                    "rows": counts[table],
                    "phase": states.get(table, {}).get("state", {}).get("phase"),
                    "events_cursor": states.get(table, {}).get("state", {}).get("events_cursor"),
                    "updated_at": states.get(table, {}).get("updated_at"),
                }
                for table in counts
            },
            # objects the mapping could not classify: kept, counted, never dropped silently
            "unclassified": unclassified,
            # subscriptions and invoice lines the MRR rules could not place (amount and reason)
            "mrr_unplaced": unplaced_summary(store),
        }
    finally:
        store.close()


# A recognisably fake key for the bundled demo server; it unlocks nothing anywhere else.
DEMO_API_KEY = "sk_test_demo_billing_connector_0000"


def demo(settings: Settings, *, customers: int, seed: int, quiet: bool = True) -> tuple[SyncReport, Store]:
    """Start the bundled demo account on 127.0.0.1, sync it into ``settings.db``, stop it."""
    from dataclasses import replace

    from .demo.server import DemoServer

    with DemoServer(seed=seed, customers=customers) as server:
        demo_settings = replace(settings, api_base=server.url, api_key_env="BILLING_CONNECTOR_DEMO_KEY")
        previous = os.environ.get("BILLING_CONNECTOR_DEMO_KEY")
        os.environ["BILLING_CONNECTOR_DEMO_KEY"] = DEMO_API_KEY
        try:
            # The demo server has no rate limit; Stripe's 25/s (per account or per
            # endpoint) would only make the demo slow.
            if demo_settings.max_requests_per_second is None:
                demo_settings = replace(
                    demo_settings, max_requests_per_second=500.0, max_requests_per_second_per_endpoint=500.0
                )
            return sync(demo_settings, quiet=quiet)
        finally:
            if previous is None:
                os.environ.pop("BILLING_CONNECTOR_DEMO_KEY", None)
            else:
                os.environ["BILLING_CONNECTOR_DEMO_KEY"] = previous
