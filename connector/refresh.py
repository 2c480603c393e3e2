"""The one place that runs the chain: raw objects → neutral tables → revenue segments → MRR facts.

``sync`` (``refresh_after_sync``), ``backfill``, ``mrr rebuild`` and
``import subscription-periods`` all call :func:`refresh`; the MRR package never
drives the mapping. The three steps run in one transaction: the mapping's
watermark must not commit before the segments and facts it feeds, or a crash in
between would leave those customers' MRR stale for good (inner blocks nest as
savepoints).

Which policy: the one the store's facts are computed under
(``engine.policy_of_store``), unless the caller switches it (``mrr rebuild
--policy``, ``backfill --policy``); a store with no facts yet takes the
configured one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date
from typing import Any

from .mapping import chargebee_store
from .mapping import stripe as stripe_mapping
from .mapping.schema import ensure_schema
from .mrr import engine
from .collector import fewer_collections
from .store.bulk import page_cache, rollback_journal
from .mrr import segments as segment_builder


# The mapping of each provider's raw tables into the neutral ones (a store holds one provider).
MAPPINGS = {"stripe": stripe_mapping, "chargebee": chargebee_store}


def policy_for(store, configured, switch_to=None):
    """The policy a write keeps the store under: ``switch_to`` if given, else the store's, else ``configured``."""
    return switch_to or engine.policy_of_store(store) or configured


# The page cache of the refresh (SQLite's default is 2 MB: 125 pages of 16 KiB). A batch of customers
# reads its rows by index from pages all over the raw tables, a thousand pages and more, and with 125
# the b-trees' interior pages, which every such read passes through, were pushed out and read again:
# at 20,000 customers 0.24 M interior reads of the invoices' table for 0.52 M of its leaves, the
# same for the lines'. At 16 MB the refresh read 26.3 GiB instead of 31.5 (its CPU within the VM's
# noise: pages come from the OS's cache; its peak memory unchanged). The sync's cache is as large
# (app/syncing.SYNC_CACHE_KIB).
REFRESH_CACHE_KIB = 16 * 1024


def _no_phase(name: str):
    return contextlib.nullcontext()


def refresh(store, policy, *, remap_all: bool = False, recompute_all: bool = False,
            also: Iterable[str] = (), as_of: date | None = None, phase=_no_phase) -> dict[str, Any]:
    """Map what changed (everything with ``remap_all``), rebuild those customers' segments, update
    their facts (everyone's with ``recompute_all``) plus ``also`` (customers whose segments were
    written by other means, e.g. an import). Returns what each step did.

    ``phase(name)`` is a context manager around the "mapping" and the "mrr" step (the progress
    display and the sync summary's timings)."""
    ensure_schema(store)
    horizon = as_of or engine.today_utc()
    mapping = MAPPINGS[store.provider]
    # millions of short-lived objects (parsed pages, rows, segments): see connector.collector;
    # the refresh after a first sync is a bulk load, its pages written once (store.bulk.rollback_journal)
    with page_cache(store.db, REFRESH_CACHE_KIB), rollback_journal(store.db, engine.facts_empty(store)), \
            fewer_collections(), store.db.atomic():
        with phase("mapping"):
            mapped = mapping.map_all(store) if remap_all else mapping.map_changes(store)
        with phase("mrr"):
            # segments are built as known on the as-of day: a change whose event left Stripe's window
            # since the last run is dated by the rule for undated changes from now on
            redated = segment_builder.customers_dated_differently(store, engine.stored_policy(store).as_of, horizon)
            changed = segment_builder.build_segments(store, None if remap_all else set(mapped) | redated,
                                                     as_of=horizon)
            if recompute_all:
                stats = engine.rebuild(store, policy, as_of=horizon)
            else:
                stats = engine.update(store, policy, set(changed) | set(also), as_of=horizon)
    return {
        "mapped_customers": len(mapped),
        "segment_customers": len(changed),
        "full": stats.full,
        "customers": stats.customers,
        "rows_written": stats.rows_written,
        "metrics_rows_written": stats.metrics_rows_written,
        "horizon_month": stats.horizon_month,
        "policy": str(policy.name),
    }


def refresh_after_sync(store, configured_policy, phase=_no_phase) -> dict[str, Any]:
    """The end of every sync: what changed, under the store's policy."""
    return refresh(store, policy_for(store, configured_policy), phase=phase)


def backfill(store, configured_policy, switch_to=None) -> dict[str, Any]:
    """Rebuild everything from the stored raw objects: map all, build all segments, recompute all.

    Every customer's segments are rebuilt, not only those whose neutral rows
    changed: after an upgrade changes how segments are built the neutral data is
    the same, so the mapping reports nothing while the segments are out of date.
    """
    return refresh(store, policy_for(store, configured_policy, switch_to), remap_all=True, recompute_all=True)
