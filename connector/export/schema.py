"""What an export sends: the store's data tables, their column types, and their changed rows.

Tables are discovered at run time: every table whose name does not start with
an underscore and that has a ``_seq`` column (raw, ``billing_*``, ``mrr_*``, and
whatever a later layer adds). Column types come from SQLite's declared type plus
the naming conventions below, written down here once (docs/export.md lists
them) so every target maps a column the same way:

* ``_synced_at`` (ISO text in the store) → timestamp with time zone;
* ``_deleted`` and the flags in :data:`BOOLEAN_COLUMNS` (0/1 in SQLite) → boolean;
* the JSON text columns in :data:`JSON_COLUMNS` → jsonb / JSON;
* INTEGER columns named in :data:`EPOCH_SECOND_COLUMNS` (Stripe's epoch
  seconds) or ending in ``_at`` (the neutral schema's instants) → timestamp
  with time zone. Names and declared types, never a guess from values;
* TEXT columns named ``*_date`` or in :data:`DATE_COLUMNS` → date;
* anything else by SQLite's affinity rules: INTEGER → bigint (money stays
  integer minor units), REAL → double, BLOB → bytes, TEXT and the rest → text.

Every exported row also carries ``_account_id`` (the store's account), which
leads the target's primary key so several accounts can share one schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from ..errors import ConfigError, ExportError
from ..store import Store, quote
from ..store.tables import key_columns
from ..values import epoch_to_datetime

ACCOUNT_COLUMN = "_account_id"

# Stripe's epoch-second fields (and the same names in derived tables).
EPOCH_SECOND_COLUMNS = frozenset({
    "created", "canceled_at", "ended_at", "period_start", "period_end",
    "current_period_start", "current_period_end", "start_date", "trial_start", "trial_end",
    "cancel_at", "billing_cycle_anchor", "due_date", "effective_at", "paid_at",
    "voided_at", "finalized_at", "marked_uncollectible_at", "redeem_by", "expires_at",
})
# JSON text: raw objects, MRR details, and the neutral schema's JSON lists.
JSON_COLUMNS = frozenset({
    "data", "detail", "tags", "tiers", "discount_ids", "tax_rates", "discount_amounts", "source_ids",
})
# The neutral schema's convention (connector/mapping/schema.py): instants are
# INTEGER epoch seconds in columns named *_at.
EPOCH_SECOND_SUFFIX = "_at"
BOOLEAN_COLUMNS = frozenset({"_deleted", "livemode", "active", "cancel_at_period_end"})
DATE_COLUMNS = frozenset({"date", "day"})
TIMESTAMP_TEXT_COLUMNS = frozenset({"_synced_at"})

# Logical types every target maps to its own names.
BIGINT, DOUBLE, TEXT, BOOLEAN, TIMESTAMP, JSON, DATE, BYTES = (
    "bigint", "double", "text", "boolean", "timestamp", "json", "date", "bytes",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str          # one of the logical types above
    source_type: str   # SQLite's declared type, for the manifest and messages


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]   # store columns, then _account_id
    primary_key: tuple[str, ...]  # _account_id first

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def as_manifest(self) -> dict[str, Any]:
        return {
            "columns": [{"name": c.name, "type": c.type, "sqlite_type": c.source_type} for c in self.columns],
            "primary_key": list(self.primary_key),
        }


def logical_type(name: str, declared: str) -> str:
    """The logical type of a store column, by the conventions in the module docstring."""
    affinity = _affinity(declared)
    if name in TIMESTAMP_TEXT_COLUMNS:
        return TIMESTAMP
    if name in BOOLEAN_COLUMNS and affinity == BIGINT:
        return BOOLEAN
    if name in JSON_COLUMNS and affinity == TEXT:
        return JSON
    if (name in EPOCH_SECOND_COLUMNS or name.endswith(EPOCH_SECOND_SUFFIX)) and affinity == BIGINT:
        return TIMESTAMP
    if (name.endswith("_date") or name in DATE_COLUMNS) and affinity == TEXT:
        return DATE
    return affinity


def _affinity(declared: str) -> str:
    """SQLite's type affinity rules (https://sqlite.org/datatype3.html, 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return BIGINT
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return TEXT
    if "BLOB" in upper:
        return BYTES
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return DOUBLE
    # NUMERIC affinity or no declared type: text keeps any value exactly.
    return TEXT


def data_tables(store: Store) -> list[str]:
    """Every exportable table in the store, by name."""
    names = [
        name
        for (name,) in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' "
            "AND name NOT LIKE 'sqlite%' ORDER BY name"
        ).fetchall()
    ]
    return [name for name in names if "_seq" in _columns_of(store, name)]


def select_tables(store: Store, requested: Sequence[str] | None) -> list[str]:
    """The tables to export: all data tables, or those requested (ExportError for an unknown one)."""
    available = data_tables(store)
    if not requested:
        return available
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise ConfigError(
            f"no such data table in the store: {', '.join(unknown)}; "
            f"choose from {', '.join(available) or '(none: run sync first)'}"
        )
    return list(dict.fromkeys(requested))


def _columns_of(store: Store, table: str) -> dict[str, tuple[str, int]]:
    rows = store.db.execute(f"PRAGMA table_info({quote(table)})").fetchall()
    # (cid, name, type, notnull, default, pk)
    return {row[1]: (row[2] or "", row[5]) for row in rows}


def table_schema(store: Store, table: str) -> TableSchema:
    columns = _columns_of(store, table)
    if ACCOUNT_COLUMN in columns:
        raise ExportError(f"table {table} has its own {ACCOUNT_COLUMN} column, which the export adds; rename it")
    key = [name for name, (_t, pk) in sorted(columns.items(), key=lambda item: item[1][1]) if pk]
    if not key:   # a table made by this version holds its key in a unique index of its own
        key = key_columns(store.db, table)
    if not key:
        raise ExportError(f"table {table} has no primary key, so its rows cannot be merged; give it one")
    exported = [Column(name, logical_type(name, declared), declared) for name, (declared, _pk) in columns.items()]
    exported.append(Column(ACCOUNT_COLUMN, TEXT, "TEXT"))
    return TableSchema(table, tuple(exported), (ACCOUNT_COLUMN, *key))


def changed_rows(
    store: Store, schema: TableSchema, after_seq: int, upto_seq: int, account_id: str, batch_size: int = 5000,
    skipped: list[tuple[Any, str]] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Rows with ``after_seq < _seq <= upto_seq``, in primary-key order, as typed Python values.

    Values: int, float, str, bool, ``datetime`` (UTC), ``date``, bytes, or None;
    JSON columns stay their JSON text. A row holding a value that does not fit
    its column's type (a date past year 9999, say) is left out and appended to
    ``skipped`` as (its primary key joined by '/', the reason naming table, column and
    value); without ``skipped`` it raises that reason as an ExportError.
    """
    store_columns = [c for c in schema.columns if c.name != ACCOUNT_COLUMN]
    order = ", ".join(quote(c) for c in schema.primary_key if c != ACCOUNT_COLUMN)
    cursor = store.db.execute(
        f"SELECT {', '.join(quote(c.name) for c in store_columns)} FROM {quote(schema.name)} "
        f"WHERE _seq > ? AND _seq <= ? ORDER BY {order}",
        [after_seq, upto_seq],
    )
    converters = [_CONVERTERS[c.type] for c in store_columns]
    names = [c.name for c in store_columns]
    key_at = [names.index(c) for c in schema.primary_key if c != ACCOUNT_COLUMN]
    while True:
        batch = cursor.fetchmany(batch_size)
        if not batch:
            return
        for raw in batch:
            try:
                values = [None if value is None else convert(value) for convert, value in zip(converters, raw)]
            except (TypeError, ValueError, OverflowError):
                misfit = _misfit(schema.name, store_columns, raw)
                if skipped is None:
                    raise misfit from None
                skipped.append(("/".join(str(raw[i]) for i in key_at), str(misfit)))
                continue
            values.append(account_id)
            yield tuple(values)


def _misfit(table: str, columns: Sequence[Column], row: Sequence[Any]) -> ExportError:
    """The error for the first value of ``row`` that does not fit its column's type."""
    for column, value in zip(columns, row):
        try:
            if value is not None:
                _CONVERTERS[column.type](value)
        except (TypeError, ValueError, OverflowError) as exc:
            return ExportError(
                f"{table}.{column.name} holds {value!r}, not a {column.type} ({exc}); row starting {row[0]!r}"
            )
    return ExportError(f"{table}: a row starting {row[0]!r} could not be read; check its values")


def _to_bool(value: Any) -> bool:
    if value in (0, 1):
        return bool(value)
    raise ValueError("expected 0 or 1")


def _to_timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        # _synced_at: the store writes "YYYY-MM-DDTHH:MM:SSZ"
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    if isinstance(value, float) or isinstance(value, bool):
        raise ValueError("expected whole epoch seconds")
    return epoch_to_datetime(int(value))


def _to_json_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected JSON text")
    json.loads(value)  # refuse invalid JSON here rather than half-way through a load
    return value


def _to_int(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("not a whole number")
    return int(value)


def _to_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _to_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


_CONVERTERS = {
    BIGINT: _to_int,
    DOUBLE: float,
    TEXT: _to_text,
    BOOLEAN: _to_bool,
    TIMESTAMP: _to_timestamp,
    JSON: _to_json_text,
    DATE: lambda value: date.fromisoformat(str(value)),
    BYTES: _to_bytes,
}
