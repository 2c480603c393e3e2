"""The MRR engine: segments → ledger → movements → metrics, full or incremental.

``update(store, policy, customer_ids)`` recomputes only the given customers,
rewrites their rows change-only (removed rows are soft-deleted) and adjusts the
monthly metrics by the difference between their old and new contributions —
never a full re-aggregation. ``rebuild`` recomputes everyone. Both leave the
same rows (tested with hypothesis). The chain that feeds it (mapping → segments
→ facts) runs in ``connector.refresh``; nothing here drives the mapping.

Three things force a full recompute inside ``update``: no facts yet, another
policy (name or fingerprint) than the stored one, and an as-of day earlier than
the stored one. A later as-of day only adds the customers whose figures it
moves (see ``_customers_moved_by_time``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

from ..errors import ConfigError
from ..store import first_load
from ..store.bulk import has_no_rows, page_cache, rollback_journal
from ..collector import fewer_collections
from .fact_writes import REBUILD_CACHE_KIB, chunks, select_in, write_customers
from .facts import (
    CUSTOMER_TABLES, METRICS_TABLE, MONTHS_TABLE, PRIMARY_KEY, RUNS_TABLE, PolicyStamp,
    ensure_tables, metrics_row,
)
from .ledger import Run, change_points, group_by_customer_currency, last_day_of_month, mrr_segments, runs_from_points
from .metrics import COUNTERS, add_counters, aggregate
from .model import SEGMENTS_TABLE, Segment
from .movements import CHURN, CONTRACTION, EXPANSION, REACTIVATION, DayMovement, MonthFigure, classify_days, classify_months
from .segments_effective import effective_segments

SegmentSource = Callable[[Any, Any, "set[str] | None"], Sequence[Segment]]

# Customers computed and written at a time (full or incremental): their segments, ledgers and
# rows are all that is held, so memory stays bounded whatever the account's size.
BATCH_CUSTOMERS = 100
_META_POLICY = "mrr_policy"
_META_FINGERPRINT = "mrr_policy_fingerprint"
_META_AS_OF = "mrr_as_of"
_META_SETTINGS = "mrr_policy_settings"


@dataclass(frozen=True)
class Rules:
    """The policy settings the engine itself applies (the rest act in segments)."""

    name: str
    fingerprint: str
    reactivation_min_gap_days: int = 0
    same_month_new_churn_ignored: bool = False
    include_usage_in_mrr: bool = False
    reactivation_as_expansion: bool = False
    churn_as_contraction: bool = False

    @classmethod
    def of(cls, policy: Any) -> "Rules":
        return cls(
            name=str(policy.name),
            fingerprint=str(policy.fingerprint()),
            reactivation_min_gap_days=int(policy.reactivation_min_gap_days or 0),
            same_month_new_churn_ignored=bool(policy.same_month_new_churn_ignored),
            include_usage_in_mrr=bool(policy.include_usage_in_mrr),
            reactivation_as_expansion=bool(getattr(policy, "reactivation_as_expansion", False)),
            churn_as_contraction=bool(getattr(policy, "churn_as_contraction", False)),
        )

    @property
    def regrouped(self) -> dict[str, str]:
        """Movement kinds a product reports under another kind (Chargebee: reactivation is expansion)."""
        return {**({REACTIVATION: EXPANSION} if self.reactivation_as_expansion else {}),
                **({CHURN: CONTRACTION} if self.churn_as_contraction else {})}

    @property
    def stamp(self) -> PolicyStamp:
        return PolicyStamp(self.name, self.fingerprint)


@dataclass(frozen=True)
class CustomerLedger:
    customer_id: str
    currency: str
    runs: list[Run]
    days: list[DayMovement]
    months: list[MonthFigure]


@dataclass(frozen=True)
class UpdateStats:
    full: bool                 # True when everything was recomputed
    customers: int             # customers recomputed
    rows_written: int          # rows inserted, changed or soft-deleted in the customer tables
    metrics_rows_written: int
    horizon_month: str


def facts_empty(target) -> bool:
    """No row in the customer fact tables, not even a soft-deleted one: computing the facts now is a
    first build, a bulk load (plain inserts, indexes after, a rollback journal when no transaction is
    open yet). Tables holding only soft-deleted rows take the change-only path: it revives their rows."""
    ensure_tables(target)
    return all(has_no_rows(target.db, table) for table in CUSTOMER_TABLES)


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def compute_ledgers(segments: Iterable[Segment], rules: Rules, horizon: date) -> list[CustomerLedger]:
    """Pure computation: every (customer, currency)'s runs, day movements and months."""
    with fewer_collections():
        return _compute_ledgers(segments, rules, horizon)


def _compute_ledgers(segments: Iterable[Segment], rules: Rules, horizon: date) -> list[CustomerLedger]:
    ledgers = []
    # Nothing after the as-of day: a change scheduled later (a trial's end, a cancellation at the
    # period end) is not a fact yet; what runs on that day runs on (see views.facts_for for projections).
    known = (s if s.end is None or s.end <= horizon else replace(s, end=None)
             for s in segments if s.start <= horizon)
    grouped = group_by_customer_currency(mrr_segments(known, rules.include_usage_in_mrr))
    for (customer_id, currency), customer_segments in sorted(grouped.items()):
        points = change_points(customer_segments)
        runs = runs_from_points(points)
        days = classify_days(points, rules.reactivation_min_gap_days, rules.same_month_new_churn_ignored)
        months = classify_months(runs, days, horizon)
        regrouped = rules.regrouped
        if regrouped:
            days = [d._replace(kind=regrouped.get(d.kind, d.kind)) for d in days]
            months = [m._replace(movement=regrouped.get(m.movement, m.movement)) for m in months]
        ledgers.append(CustomerLedger(customer_id, currency, runs, days, months))
    return ledgers


def ledgers_by_batch(
    store, policy, rules: Rules, horizon: date, source: SegmentSource, customer_ids: Sequence[str],
) -> Iterator[tuple[Sequence[str], list[CustomerLedger]]]:
    """``(customers, their ledgers)``, ``BATCH_CUSTOMERS`` customers at a time: how the rebuild and
    the update compute, and what benchmarks/mrr_history.py times. Nothing holds a batch's ledgers
    once the next is asked for, so memory stays that of one batch, and so does the cycle
    collector's work: every collection walks what is alive, and a whole account's ledgers
    (millions of records) alive at once made the collector a quarter of the computing."""
    for chunk in chunks(customer_ids, BATCH_CUSTOMERS):
        yield chunk, compute_ledgers(source(store, policy, set(chunk)), rules, horizon)


def add_month_totals(totals: dict[tuple[str, str], dict[str, int]], figures: Iterable[tuple[str, MonthFigure]],
                     sign: int = 1) -> None:
    """Add (or with ``sign=-1`` take away) ``figures``' metric counters to ``totals``, per (currency, month)."""
    for key, counters in aggregate(figures).items():
        add_counters(totals.setdefault(key, dict.fromkeys(COUNTERS, 0)), counters, sign)


def default_segment_source(store, policy, customer_ids: set[str] | None) -> Sequence[Segment]:
    """The stored segments with the policy's rules applied (connector.mrr.segments_effective)."""
    return effective_segments(store, policy, customer_ids=customer_ids)


def update(
    store,
    policy,
    customer_ids: set[str] | None,
    *,
    as_of: date | None = None,
    segment_source: SegmentSource | None = None,
    target=None,
) -> UpdateStats:
    """Bring the MRR facts up to date for ``customer_ids`` (None = everyone).

    Segments are read from ``store``; facts are written to ``target`` (default:
    the same store — another store lets a command compute under a different
    policy without touching the stored facts). Runs in one transaction.
    """
    target = store if target is None else target
    ensure_tables(target)
    if target is not store and not store.db[SEGMENTS_TABLE].exists():
        raise ConfigError("the store holds no revenue segments yet: run `billing-connector backfill` first")
    rules = Rules.of(policy)
    horizon = as_of or today_utc()
    source = segment_source or default_segment_source
    stored_as_of = target.meta(_META_AS_OF)
    full = (
        customer_ids is None
        or target.meta(_META_FINGERPRINT) != rules.fingerprint
        or target.meta(_META_POLICY) != rules.name
        or stored_as_of is None
        or stored_as_of > horizon.isoformat()
    )
    # A first build (no live fact row) is a bulk load: indexes built after it, plain inserts, and the
    # pages written once with a rollback journal instead of twice through the WAL.
    first_build = full and facts_empty(target)
    with rollback_journal(target.db, first_build), fewer_collections(), target.db.atomic():
        if full:
            stats = _recompute_all(store, target, policy, rules, horizon, source, first_build)
        else:
            ids = set(customer_ids or ())
            if stored_as_of < horizon.isoformat():
                ids |= _customers_moved_by_time(store, target, date.fromisoformat(stored_as_of), horizon)
            stats = _recompute_some(store, target, policy, rules, horizon, source, ids)
        target.set_meta(_META_POLICY, rules.name)
        target.set_meta(_META_FINGERPRINT, rules.fingerprint)
        target.set_meta(_META_AS_OF, horizon.isoformat())
        if hasattr(policy, "settings"):
            target.set_meta(_META_SETTINGS, json.dumps(policy.settings(), sort_keys=True))
    return stats


@dataclass(frozen=True)
class StoredPolicy:
    """What the stored MRR facts were computed under, and for which day."""

    name: str                  # "" when no facts were computed yet
    fingerprint: str
    as_of: date | None         # the as-of day: the current month's figure is the MRR on it

    @property
    def horizon_month(self) -> str | None:
        """The last month the facts hold (YYYY-MM), None before the first computation."""
        return None if self.as_of is None else f"{self.as_of.year:04d}-{self.as_of.month:02d}"

    def matches(self, policy) -> bool:
        return (self.name, self.fingerprint) == (str(policy.name), str(policy.fingerprint()))


def stored_policy(store) -> StoredPolicy:
    """The policy name, rule fingerprint and as-of day of the facts in ``store`` (public contract)."""
    as_of = store.meta(_META_AS_OF)
    return StoredPolicy(
        store.meta(_META_POLICY) or "",
        store.meta(_META_FINGERPRINT) or "",
        date.fromisoformat(as_of) if as_of else None,
    )


def policy_of_store(store):
    """The policy the store's facts are computed under (its name and every rule), or None
    before the first computation. Later syncs keep it; ``mrr rebuild --policy`` switches it."""
    from .policy import load_policy

    text = store.meta(_META_SETTINGS)
    if not text:
        return None
    settings = json.loads(text)
    name = settings.pop("name", "default")
    try:
        return load_policy(name, settings)
    except ConfigError:
        return load_policy("default", settings)   # a custom name: the rules are what matter


def rebuild(store, policy, *, as_of: date | None = None, segment_source: SegmentSource | None = None, target=None) -> UpdateStats:
    """Recompute every customer under ``policy`` (change-only writes: unchanged rows stay as they are)."""
    return update(store, policy, None, as_of=as_of, segment_source=segment_source, target=target)


def customers_changed_since(store, seq: int) -> set[str]:
    """Customers whose stored segments were written or deleted after change sequence ``seq``."""
    ensure_tables(store)
    return {
        customer_id
        for (customer_id,) in store.db.execute(
            f"SELECT DISTINCT customer_id FROM {SEGMENTS_TABLE} WHERE _seq > ?", [seq]
        ).fetchall()
    }


# ---- internals ---------------------------------------------------------------


def _customers_moved_by_time(store, target, old_as_of: date, new_as_of: date) -> set[str]:
    """Customers whose month figures change only because the as-of day moved forward.

    The current month's figure is the MRR on the as-of day, so a change point
    in ``(old, new]`` changes it; and when a new month began, every customer
    still paying at the old month's end gets a row for the new month.
    """
    old_day, new_day = old_as_of.isoformat(), new_as_of.isoformat()
    # Facts stop at the as-of day, so the changes the new days bring are in the segments: pieces that
    # start or end in (old, new], and those a policy may end on a day of their own (a cancellation
    # request, a past-due auto-churn).
    moved = {
        customer_id
        for (customer_id,) in store.db.execute(
            f"SELECT DISTINCT customer_id FROM {SEGMENTS_TABLE} WHERE _deleted = 0 AND ("
            "(start_date > ? AND start_date <= ?) OR (end_date > ? AND end_date <= ?) "
            "OR tags LIKE '%cancel_requested%' OR tags LIKE '%pending_cancel%' OR tags LIKE '%\"past_due\"%')",
            [old_day, new_day, old_day, new_day],
        ).fetchall()
    } if store.db[SEGMENTS_TABLE].exists() else set()
    if (old_as_of.year, old_as_of.month) != (new_as_of.year, new_as_of.month):
        last_day = last_day_of_month(old_as_of.year, old_as_of.month).isoformat()
        moved.update(
            customer_id
            for (customer_id,) in target.db.execute(
                f"SELECT DISTINCT customer_id FROM {RUNS_TABLE} WHERE _deleted = 0 "
                "AND (end_date IS NULL OR end_date > ?)",
                [last_day],
            ).fetchall()
        )
    return moved


def _read_old_figures(target, customer_ids: Sequence[str]) -> list[tuple[str, MonthFigure]]:
    rows = select_in(
        target.db,
        f"SELECT currency, month, mrr_minor, start_mrr_minor, movement, movement_minor FROM {MONTHS_TABLE} "
        "WHERE _deleted = 0 AND customer_id IN ({ids})",
        customer_ids,
    )
    return [(r[0], MonthFigure(r[1], r[2], r[3], r[4], r[5], "", ())) for r in rows]


def month_figures(ledgers: Iterable[CustomerLedger]) -> Iterable[tuple[str, MonthFigure]]:
    """``(currency, figure)`` of every customer-month of ``ledgers``: what ``add_month_totals`` adds."""
    for ledger in ledgers:
        for figure in ledger.months:
            yield ledger.currency, figure


def _recompute_some(store, target, policy, rules, horizon, source, ids: set[str]) -> UpdateStats:
    ordered = sorted(ids)
    delta: dict[tuple[str, str], dict[str, int]] = {}
    written = 0
    for chunk, ledgers in ledgers_by_batch(store, policy, rules, horizon, source, ordered):
        old = _read_old_figures(target, chunk)
        written += write_customers(target, chunk, ledgers, rules.stamp)
        add_month_totals(delta, month_figures(ledgers))
        add_month_totals(delta, old, sign=-1)
    metrics_written = _apply_metric_deltas(target, delta, rules.stamp)
    return UpdateStats(False, len(ordered), written, metrics_written, f"{horizon.year:04d}-{horizon.month:02d}")


def _apply_metric_deltas(target, delta: dict[tuple[str, str], dict[str, int]], stamp: PolicyStamp) -> int:
    changed = {key: d for key, d in delta.items() if any(d.values())}
    if not changed:
        return 0
    ids = [f"{currency}|{month}" for currency, month in changed]
    current: dict[str, dict[str, int]] = {}
    columns = ", ".join(COUNTERS)
    for row in select_in(target.db, f"SELECT id, {columns} FROM {METRICS_TABLE} WHERE _deleted = 0 AND id IN ({{ids}})", ids):
        current[row[0]] = dict(zip(COUNTERS, row[1:]))
    rows, gone = [], []
    for (currency, month), d in sorted(changed.items()):
        row_id = f"{currency}|{month}"
        counters = current.get(row_id, dict.fromkeys(COUNTERS, 0))
        add_counters(counters, d)
        if counters["customer_rows"] == 0:
            gone.append({"id": row_id})
        else:
            rows.append(metrics_row(currency, month, counters, stamp))
    written = target.upsert_rows(METRICS_TABLE, PRIMARY_KEY, rows)
    if gone:
        written += target.mark_deleted(METRICS_TABLE, gone)
    return written


def _all_customer_ids(store, target) -> list[str]:
    ids = {c for (c,) in store.db.execute(f"SELECT DISTINCT customer_id FROM {SEGMENTS_TABLE} WHERE _deleted = 0")}
    for table in CUSTOMER_TABLES:
        ids.update(c for (c,) in target.db.execute(f"SELECT DISTINCT customer_id FROM {table} WHERE _deleted = 0"))
    return sorted(ids)


def _recompute_all(store, target, policy, rules, horizon, source, fresh: bool) -> UpdateStats:
    customer_ids = _all_customer_ids(store, target)
    totals: dict[tuple[str, str], dict[str, int]] = {}
    written = 0
    with page_cache(target.db, REBUILD_CACHE_KIB), first_load.deferred(target, CUSTOMER_TABLES, fresh):
        for chunk, ledgers in ledgers_by_batch(store, policy, rules, horizon, source, customer_ids):
            written += write_customers(target, chunk, ledgers, rules.stamp, fresh=fresh)
            add_month_totals(totals, month_figures(ledgers))
    rows = [metrics_row(cur, month, counters, rules.stamp) for (cur, month), counters in sorted(totals.items())]
    metrics_written = target.replace_scope(METRICS_TABLE, PRIMARY_KEY, {}, rows)
    return UpdateStats(True, len(customer_ids), written, metrics_written, f"{horizon.year:04d}-{horizon.month:02d}")
