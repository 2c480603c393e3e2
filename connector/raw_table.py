"""A raw table: one per provider object type, the whole object as canonical JSON plus typed columns.

Each provider declares its own (``connector/streams.py`` for Stripe,
``providers/chargebee_tables.py``); the store registers the set of its
provider. Typed columns are read from the object by a dotted path; ``a|b``
tries ``a`` then ``b`` (API versions differ).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .jsontext import canonical_json


def _ref(value: Any) -> Any:
    """An id whether the field came expanded (a dict) or as a plain id."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


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
        if value is None:
            continue
        if isinstance(value, dict):
            return value.get("id")
        if isinstance(value, list):
            return None
        if isinstance(value, bool):
            return int(value)
        return value
    return None


# (column, SQL type, dotted path in the object)
Column = tuple[str, str, str]


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ("id",)

    def to_row(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        row = {"id": obj["id"]}
        for column, _sql_type, path in self.columns:
            row[column] = _path(obj, path)
        row["data"] = canonical_json(obj)
        return row

    def create_sql(self) -> str:
        from .store import quote

        cols = ['"id" TEXT NOT NULL']
        cols += [f"{quote(c)} {t}" for c, t, _ in self.columns]
        cols += [
            '"data" TEXT NOT NULL',
            '"_synced_at" TEXT NOT NULL',
            '"_deleted" INTEGER NOT NULL DEFAULT 0',
            '"_seq" INTEGER NOT NULL',
            f"PRIMARY KEY ({', '.join(quote(c) for c in self.primary_key)})",
        ]
        return f"CREATE TABLE {quote(self.name)} ({', '.join(cols)})"
