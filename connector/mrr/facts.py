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

from .ledger import Run
from .metrics import COUNTERS, DERIVED, derive
from .movements import DayMovement, MonthFigure

RUNS_TABLE = "mrr_customer_runs"
MOVEMENTS_TABLE = "mrr_movements"
MONTHS_TABLE = "mrr_customer_months"
METRICS_TABLE = "mrr_monthly_metrics"
CUSTOMER_TABLES = (RUNS_TABLE, MOVEMENTS_TABLE, MONTHS_TABLE)
PRIMARY_KEY = ("id",)

_META = '"_synced_at" TEXT NOT NULL, "_deleted" INTEGER NOT NULL DEFAULT 0, "_seq" INTEGER NOT NULL'
_POLICY = "policy TEXT NOT NULL, policy_fingerprint TEXT NOT NULL"


@dataclass(frozen=True)
class PolicyStamp:
    name: str
    fingerprint: str


def _create_customer_tables(db) -> None:
    db.execute(
        f"""CREATE TABLE {RUNS_TABLE} (
            id TEXT NOT NULL PRIMARY KEY, customer_id TEXT NOT NULL, currency TEXT NOT NULL,
            start_date TEXT NOT NULL, end_date TEXT, mrr_minor INTEGER NOT NULL, {_POLICY}, {_META})"""
    )
    db.execute(
        f"""CREATE TABLE {MOVEMENTS_TABLE} (
            id TEXT NOT NULL PRIMARY KEY, customer_id TEXT NOT NULL, currency TEXT NOT NULL,
            day TEXT NOT NULL, movement TEXT NOT NULL, amount_minor INTEGER NOT NULL,
            mrr_before_minor INTEGER NOT NULL, mrr_after_minor INTEGER NOT NULL,
            cause TEXT NOT NULL, source_ids TEXT NOT NULL, {_POLICY}, {_META})"""
    )
    db.execute(
        f"""CREATE TABLE {MONTHS_TABLE} (
            id TEXT NOT NULL PRIMARY KEY, customer_id TEXT NOT NULL, currency TEXT NOT NULL,
            month TEXT NOT NULL, mrr_minor INTEGER NOT NULL, start_mrr_minor INTEGER NOT NULL,
            movement TEXT NOT NULL, movement_minor INTEGER NOT NULL, cause TEXT NOT NULL,
            {_POLICY}, {_META})"""
    )
    for table in CUSTOMER_TABLES:
        for statement in customer_index_sql(table).values():
            db.execute(statement)
    # no index on day/month: reports scan whole tables, and every index slows the full rebuild


def customer_index_sql(table: str) -> dict[str, str]:
    """The secondary indexes of a customer table, by name (a first rebuild drops and recreates them)."""
    return {
        f"idx_{table}_customer": f"CREATE INDEX idx_{table}_customer ON {table}(customer_id)",
        f"idx_{table}__seq": f"CREATE INDEX idx_{table}__seq ON {table}(_seq)",
    }


def _create_metrics_table(db) -> None:
    counters = ", ".join(f"{name} INTEGER NOT NULL" for name in COUNTERS)
    derived = ", ".join(f"{name} {'INTEGER' if name.endswith('_minor') else 'TEXT'}" for name in DERIVED)
    db.execute(
        f"""CREATE TABLE {METRICS_TABLE} (
            id TEXT NOT NULL PRIMARY KEY, currency TEXT NOT NULL, month TEXT NOT NULL,
            {counters}, {derived}, {_POLICY}, {_META})"""
    )
    db.execute(f"CREATE INDEX idx_{METRICS_TABLE}__seq ON {METRICS_TABLE}(_seq)")


FACT_MIGRATIONS = [
    ("ledger_0001_customer_tables", _create_customer_tables),
    ("metrics_0001_monthly_metrics", _create_metrics_table),
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
                months: Iterable[MonthFigure], stamp: PolicyStamp, day_text: DayText,
                out: Mapping[str, list[dict[str, Any]]]) -> None:
    """The runs, movements and months rows of one ledger, appended to ``out[table]``: built
    inline (no helper call per row) because a full rebuild makes millions."""
    prefix = f"{customer_id}|{currency}|"
    name, fingerprint = stamp.name, stamp.fingerprint
    out[RUNS_TABLE].extend({
        "id": prefix + day_text[start], "customer_id": customer_id, "currency": currency,
        "start_date": day_text[start], "end_date": None if end is None else day_text[end], "mrr_minor": mrr,
        "policy": name, "policy_fingerprint": fingerprint,
    } for start, end, mrr in runs)
    out[MOVEMENTS_TABLE].extend({
        "id": prefix + day_text[day], "customer_id": customer_id, "currency": currency, "day": day_text[day],
        "movement": kind, "amount_minor": amount, "mrr_before_minor": before, "mrr_after_minor": after,
        "cause": cause, "source_ids": source_ids_json(source_ids), "policy": name, "policy_fingerprint": fingerprint,
    } for day, kind, amount, before, after, cause, source_ids in days)
    out[MONTHS_TABLE].extend({
        "id": prefix + month, "customer_id": customer_id, "currency": currency, "month": month, "mrr_minor": mrr,
        "start_mrr_minor": start_mrr, "movement": movement, "movement_minor": movement_minor, "cause": cause,
        "policy": name, "policy_fingerprint": fingerprint,
    } for month, mrr, start_mrr, movement, movement_minor, cause, _ in months)


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
