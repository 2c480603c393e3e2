"""The raw tables: one per provider object type, named as Stripe's warehouse export names them.

Each table keeps the whole object as canonical JSON in ``data`` plus the typed
columns queries need (foreign keys, status, money, time). The list here is the
single source of truth for table names, primary keys and typed columns; the
Stripe adapter maps its endpoints onto these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


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
        from .store import canonical_json  # store imports this module

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


_CREATED = ("created", "INTEGER", "created")
_LIVEMODE = ("livemode", "INTEGER", "livemode")

RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in [
        RawTable("customers", (_CREATED, _LIVEMODE, ("email", "TEXT", "email"), ("currency", "TEXT", "currency"))),
        RawTable("products", (_CREATED, _LIVEMODE, ("name", "TEXT", "name"), ("active", "INTEGER", "active"))),
        RawTable(
            "prices",
            (
                _CREATED,
                _LIVEMODE,
                ("product", "TEXT", "product"),
                ("currency", "TEXT", "currency"),
                ("unit_amount", "INTEGER", "unit_amount"),
                ("type", "TEXT", "type"),
                ("interval", "TEXT", "recurring.interval"),
                ("interval_count", "INTEGER", "recurring.interval_count"),
            ),
        ),
        RawTable(
            "plans",
            (
                _CREATED,
                _LIVEMODE,
                ("product", "TEXT", "product"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
                ("interval", "TEXT", "interval"),
                ("interval_count", "INTEGER", "interval_count"),
            ),
        ),
        RawTable(
            "coupons",
            (
                _CREATED,
                _LIVEMODE,
                ("duration", "TEXT", "duration"),
                ("percent_off", "REAL", "percent_off"),
                ("amount_off", "INTEGER", "amount_off"),
                ("currency", "TEXT", "currency"),
            ),
        ),
        RawTable("promotion_codes", (_CREATED, _LIVEMODE, ("code", "TEXT", "code"), ("customer", "TEXT", "customer"))),
        RawTable(
            "subscriptions",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("cancel_at_period_end", "INTEGER", "cancel_at_period_end"),
                ("canceled_at", "INTEGER", "canceled_at"),
                ("ended_at", "INTEGER", "ended_at"),
            ),
        ),
        RawTable(
            "subscription_items",
            (
                _CREATED,
                ("subscription", "TEXT", "subscription"),
                ("price", "TEXT", "price"),
                ("quantity", "INTEGER", "quantity"),
            ),
        ),
        RawTable(
            "invoices",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("subscription", "TEXT", "parent.subscription_details.subscription|subscription"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("total", "INTEGER", "total"),
                ("amount_paid", "INTEGER", "amount_paid"),
            ),
        ),
        RawTable(
            "invoice_line_items",
            (
                ("invoice", "TEXT", "invoice"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
                ("period_start", "INTEGER", "period.start"),
                ("period_end", "INTEGER", "period.end"),
            ),
            primary_key=("id", "invoice"),
        ),
        # An invoice's payments (API 2025-03-31.basil on): the only link from a charge or
        # payment intent, and so from a refund, to the invoice it paid.
        RawTable(
            "invoice_payments",
            (
                _CREATED,
                _LIVEMODE,
                ("invoice", "TEXT", "invoice"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("amount_paid", "INTEGER", "amount_paid"),
                ("amount_requested", "INTEGER", "amount_requested"),
                ("payment_type", "TEXT", "payment.type"),
                ("charge", "TEXT", "payment.charge"),
                ("payment_intent", "TEXT", "payment.payment_intent"),
            ),
        ),
        RawTable(
            "invoice_items",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("invoice", "TEXT", "invoice"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
            ),
        ),
        RawTable(
            "credit_notes",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("invoice", "TEXT", "invoice"),
                ("currency", "TEXT", "currency"),
                ("total", "INTEGER", "total"),
            ),
        ),
        RawTable(
            "charges",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
                ("amount_refunded", "INTEGER", "amount_refunded"),
            ),
        ),
        RawTable(
            "refunds",
            (
                _CREATED,
                ("charge", "TEXT", "charge"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
            ),
        ),
        RawTable("events", (_CREATED, _LIVEMODE, ("type", "TEXT", "type"), ("object_id", "TEXT", "data.object.id"))),
    ]
}
