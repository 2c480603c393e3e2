"""The MRR fact tables: their schema and how computed results become rows.

Each table has a single text ``id`` built from its natural key, so the store's
change-only ``upsert_rows`` / ``mark_deleted`` apply unchanged, and every row
carries the policy (name and fingerprint) that produced it. Amounts are
``*_minor`` integers next to a ``currency`` column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..store.tables import Table
from .ledger import Run
from .metrics import COUNTERS, DERIVED, derive
from .movements import DayMovement, MonthFigure

RUNS_TABLE = "mrr_customer_runs"
MOVEMENTS_TABLE = "mrr_movements"
MONTHS_TABLE = "mrr_customer_months"
METRICS_TABLE = "mrr_monthly_metrics"
CUSTOMER_TABLES = (RUNS_TABLE, MOVEMENTS_TABLE, MONTHS_TABLE)
PRIMARY_KEY = ("id",)

_POLICY = (("policy", "TEXT NOT NULL", "the policy's name"),
           ("policy_fingerprint", "TEXT NOT NULL", "a hash of every rule of the policy"))
_KEY = (("id", "TEXT NOT NULL", "customer|currency|day (or month): the natural key as one text"),
        ("customer_id", "TEXT NOT NULL", "the provider's customer id"),
        ("currency", "TEXT NOT NULL", "lower-case ISO 4217"))

RUNS = Table(RUNS_TABLE, (
    *_KEY, ("start_date", "TEXT NOT NULL", "first day of the run"),
    ("end_date", "TEXT", "first day after it (None: still running)"),
    ("mrr_minor", "INTEGER NOT NULL", "the MRR all through the run"), *_POLICY))
MOVEMENTS = Table(MOVEMENTS_TABLE, (
    *_KEY, ("day", "TEXT NOT NULL", "the day the MRR changed"), ("movement", "TEXT NOT NULL", "new, expansion, ..."),
    ("amount_minor", "INTEGER NOT NULL", "the change"), ("mrr_before_minor", "INTEGER NOT NULL", "MRR the day before"),
    ("mrr_after_minor", "INTEGER NOT NULL", "MRR that day"), ("cause", "TEXT NOT NULL", "why (plan, discount, ...)"),
    ("source_ids", "TEXT NOT NULL", "JSON list of what made the change"), *_POLICY))
MONTHS = Table(MONTHS_TABLE, (
    *_KEY, ("month", "TEXT NOT NULL", "YYYY-MM"), ("mrr_minor", "INTEGER NOT NULL", "MRR on the month's last day"),
    ("start_mrr_minor", "INTEGER NOT NULL", "MRR on the day before the month"),
    ("movement", "TEXT NOT NULL", "the month's movement"), ("movement_minor", "INTEGER NOT NULL", "its amount"),
    ("cause", "TEXT NOT NULL", "why"), *_POLICY))
METRICS = Table(METRICS_TABLE, (
    ("id", "TEXT NOT NULL", "currency|month"), ("currency", "TEXT NOT NULL", "lower-case ISO 4217"),
    ("month", "TEXT NOT NULL", "YYYY-MM"),
    *((name, "INTEGER NOT NULL", "an additive counter (connector.mrr.metrics)") for name in COUNTERS),
    *((name, "INTEGER" if name.endswith("_minor") else "TEXT", "derived from the counters") for name in DERIVED),
    *_POLICY))
CUSTOMER_FACTS = (RUNS, MOVEMENTS, MONTHS)
# The columns every row of one computation shares (the policy stamp, declared last in each table);
# a ledger_rows tuple holds the others (ROW_COLUMNS), in their declared order.
STAMP_COLUMNS = tuple(column for column, _, _ in _POLICY)
ROW_COLUMNS = {table.name: table.column_names[:-len(STAMP_COLUMNS)] for table in CUSTOMER_FACTS}


@dataclass(frozen=True)
class PolicyStamp:
    name: str
    fingerprint: str


def _create_customer_tables(db) -> None:
    # an index by customer (rewritten a customer at a time) and the _seq one; none on day/month:
    # reports scan whole tables, and every index slows the full rebuild
    for table in CUSTOMER_FACTS:
        table.create_step({"customer": ("customer_id",)})(db)


FACT_MIGRATIONS = [
    ("ledger_0001_customer_tables", _create_customer_tables),
    ("metrics_0001_monthly_metrics", METRICS.create_step()),
]


def ensure_tables(store) -> None:
    from .model import SEGMENT_MIGRATIONS

    store.migrate("mrr", [*SEGMENT_MIGRATIONS, *FACT_MIGRATIONS])


def source_ids_json(source_ids) -> str:
    """``json.dumps(list(source_ids))``, built by a join when no id needs escaping (the rebuild's hot path)."""
    plain = "".join(source_ids)   # the separators are not checked: '", "' itself holds a quote
    if plain.isascii() and plain.isprintable() and '"' not in plain and "\\" not in plain:
        return '["' + '", "'.join(source_ids) + '"]' if source_ids else "[]"
    return json.dumps(list(source_ids))


class DayText(dict):
    """``date → 'YYYY-MM-DD'``, each day formatted once (a rebuild formats millions of the same few thousand)."""

    def __missing__(self, day: date) -> str:
        text = self[day] = day.isoformat()
        return text


def ledger_rows(customer_id: str, currency: str, runs: Iterable[Run], days: Iterable[DayMovement],
                months: Iterable[MonthFigure], day_text: DayText, out: Mapping[str, list[tuple]]) -> None:
    """The runs, movements and months rows of one ledger as value tuples in their table's
    ``ROW_COLUMNS`` order (the policy stamp, the same for every row, is left to the writer),
    appended to ``out[table]``: built inline (no helper call, no dict per row) because a full
    rebuild makes millions."""
    prefix = f"{customer_id}|{currency}|"
    out[RUNS_TABLE].extend(
        (prefix + day_text[start], customer_id, currency, day_text[start], None if end is None else day_text[end], mrr)
        for start, end, mrr in runs)
    out[MOVEMENTS_TABLE].extend(
        (prefix + day_text[day], customer_id, currency, day_text[day], kind, amount, before, after, cause,
         source_ids_json(source_ids))
        for day, kind, amount, before, after, cause, source_ids in days)
    out[MONTHS_TABLE].extend(
        (prefix + month, customer_id, currency, month, mrr, start_mrr, movement, movement_minor, cause)
        for month, mrr, start_mrr, movement, movement_minor, cause, _ in months)


def metrics_row(currency: str, month: str, counters: Mapping[str, int], stamp: PolicyStamp) -> dict[str, Any]:
    return {
        "id": f"{currency}|{month}",
        "currency": currency,
        "month": month,
        **{name: counters[name] for name in COUNTERS},
        **derive(counters),
        "policy": stamp.name,
        "policy_fingerprint": stamp.fingerprint,
    }
