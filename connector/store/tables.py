"""How a data table is declared: typed columns, a primary key, the meta columns, its migration step.

:class:`Table` is the one declaration; its ``create_step`` is the registered
migration that creates it. A raw table (:class:`RawTable`: one per provider
object type, the whole object as canonical JSON in ``data`` plus typed columns)
is declared per provider (``raw_stripe.py``, ``raw_chargebee.py``), the
neutral tables by ``mapping/schema.py``. Typed raw columns are read from the
object by a dotted path; ``a|b`` tries ``a`` then ``b`` (API versions differ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import sqlite_utils

from .jsontext import canonical_text
from .sql import META_COLUMNS_SQL, quote

# (column, SQL type, what the declarer says of it: a dotted path for a raw table, a meaning for the docs)
Column = tuple[str, str, str]

Step = Callable[[sqlite_utils.Database], None]


def key_index_name(table: str) -> str:
    """The unique index on a data table's key (a separate index, not a PRIMARY KEY: it can be dropped)."""
    return f"idx_{table}_key"


def key_columns(db, table: str) -> list[str]:
    """The columns of a table's key index, in order; none while it is dropped (or the table has a
    PRIMARY KEY instead: a table made before the key became an index of its own)."""
    return [name for (_seqno, _cid, name) in db.execute(f"PRAGMA index_info({quote(key_index_name(table))})")]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ("id",)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _, _ in self.columns)

    def _column_sql(self) -> list[str]:
        return [f"{quote(c)} {t}" for c, t, _ in self.columns]

    def create_sql(self) -> str:
        # The key is a unique index of its own rather than a PRIMARY KEY, whose index could not be
        # dropped: a load into an empty table builds it once its rows are in (first_load.py). Tables
        # made before keep their PRIMARY KEY, and load as before; both serve ON CONFLICT alike.
        return f"CREATE TABLE {quote(self.name)} ({', '.join([*self._column_sql(), *META_COLUMNS_SQL])})"

    def create_step(self, indexes: Mapping[str, Sequence[str]] | None = None) -> Step:
        """The migration step creating the table, its key index (``idx_<table>_key``, unique), an
        index per ``indexes`` entry (name suffix -> columns: ``idx_<table>_<suffix>``) and the
        ``_seq`` index every change-since read uses."""

        def step(db: sqlite_utils.Database) -> None:
            db.execute(self.create_sql())
            db.execute(f"CREATE UNIQUE INDEX {quote(key_index_name(self.name))} ON {quote(self.name)} "
                       f"({', '.join(quote(c) for c in self.primary_key)})")
            for suffix, columns in (indexes or {}).items():
                db.execute(
                    f"CREATE INDEX {quote('idx_' + self.name + '_' + suffix)} "
                    f"ON {quote(self.name)} ({', '.join(quote(c) for c in columns)})"
                )
            db.execute(f"CREATE INDEX {quote('idx_' + self.name + '__seq')} ON {quote(self.name)} (_seq)")

        return step


@lru_cache(maxsize=None)
def _compile(dotted: str) -> tuple[tuple[str, ...], ...]:
    """``a.b|c`` -> (("a", "b"), ("c",)): alternatives, each a key path (API versions differ)."""
    return tuple(tuple(alternative.split(".")) for alternative in dotted.split("|"))


def _path(obj: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path; ``a|b`` tries ``a`` then ``b``. Expanded objects give their id."""
    for keys in _compile(dotted):
        value: Any = obj
        for key in keys:
            if not isinstance(value, dict):
                value = None
                break
            value = value.get(key)
        if value is not None:
            return _column_value(value)
    return None


def _column_value(value: Any) -> Any:
    """What a typed column holds of the value found at its path (see :func:`_path`)."""
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, list):
        return None
    if isinstance(value, bool):
        return int(value)
    return value


def _reader(dotted: str) -> Callable[[Mapping[str, Any]], Any]:
    """:func:`_path` for one path, as a function of the object. Most columns are one key of the object
    itself, read at every object the sync stores: those skip the general walk."""
    alternatives = _compile(dotted)
    if len(alternatives) != 1 or len(alternatives[0]) != 1:
        return lambda obj: _path(obj, dotted)
    (key,), = alternatives

    def read(obj: Mapping[str, Any]) -> Any:
        if type(obj) is not dict:
            return _path(obj, dotted)
        value = obj.get(key)
        kind = type(value)
        return value if kind is str or kind is int or value is None else _column_value(value)

    return read


@dataclass(frozen=True)
class RawTable(Table):
    """A provider object type: ``id``, the typed columns (each read by its dotted path), ``data``."""

    def to_row(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return self.scanned_row(obj)[0]

    def scanned_row(self, obj: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """:meth:`to_row`, and whether its text may hold a number past the value bounds
        (``jsontext.canonical_text``): the sync walks the values of those objects only."""
        row = {"id": obj["id"]}
        for column, read in self._readers:
            row[column] = read(obj)
        row["data"], unusual = canonical_text(obj)
        return row, unusual

    @cached_property
    def _readers(self) -> tuple[tuple[str, Callable[[Mapping[str, Any]], Any]], ...]:
        return tuple((column, _reader(path)) for column, _sql_type, path in self.columns)

    def _column_sql(self) -> list[str]:
        return ['"id" TEXT NOT NULL', *super()._column_sql(), '"data" TEXT NOT NULL']
