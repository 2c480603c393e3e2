"""Build test stores and read every kind of target back to compare it with the store.

The read-back side is written independently of connector.export: each target is
read with its own reader (psycopg, duckdb on the .duckdb file, duckdb's
read_parquet / read_csv / read_json on the files), every value normalised to
plain Python (epoch seconds, booleans, parsed JSON, ISO dates), and each table
reduced to its sorted rows plus a sha256 checksum of them.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from connector.store import AccountIdentity, canonical_json, open_store, quote

ACCOUNT = AccountIdentity("stripe", "acct_export1", False, "2026-10-28.endive")
EVIL_COLUMN = 'x"; DROP TABLE customers;--'
DERIVED_TABLE = "mrr_test_facts"
EXPECTED_TABLE_TYPES = {
    # the derived table's columns and the logical type each must get
    "customer_id": "text", "month_date": "date", "mrr_minor": "bigint", "currency": "text",
    "share": "double", "detail": "json", EVIL_COLUMN: "text", "period_end": "timestamp",
    "_synced_at": "timestamp", "_deleted": "boolean", "_seq": "bigint", "_account_id": "text",
}


def customer(cid: str, created: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid, "object": "customer", "created": created, "livemode": False,
        "email": f"{cid}@example.com", "currency": "usd",
        "metadata": {EVIL_COLUMN: "kept", "plan": "pro"}, **extra,
    }


def subscription(sid: str, cus: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid, "object": "subscription", "created": 1700000100, "livemode": False, "customer": cus,
        "status": status, "currency": "usd", "cancel_at_period_end": False, "canceled_at": None,
        "ended_at": None, **extra,
    }


def invoice(iid: str, cus: str, sub: str, total: int) -> dict[str, Any]:
    return {
        "id": iid, "object": "invoice", "created": 1700000200, "livemode": False, "customer": cus,
        "parent": {"subscription_details": {"subscription": sub}}, "status": "paid", "currency": "usd",
        "total": total, "amount_paid": total, "total_excluding_tax": total, "total_taxes": [],
    }


def line(lid: str, inv: str, amount: int, start: int, end: int) -> dict[str, Any]:
    return {
        "id": lid, "object": "line_item", "invoice": inv, "amount": amount, "currency": "usd",
        "period": {"start": start, "end": end},
        "pricing": {"price_details": {"price": "price_1"}},
    }


def create_derived_table(store) -> None:
    store.db.execute(
        f"CREATE TABLE {DERIVED_TABLE} (customer_id TEXT NOT NULL, month_date TEXT NOT NULL, "
        f"mrr_minor INTEGER NOT NULL, currency TEXT, share REAL, detail TEXT, {quote(EVIL_COLUMN)} TEXT, "
        "period_end INTEGER, _synced_at TEXT NOT NULL, _deleted INTEGER NOT NULL DEFAULT 0, "
        "_seq INTEGER NOT NULL, PRIMARY KEY (customer_id, month_date))"
    )


def fact(cus: str, month: str, mrr: int, note: str = "") -> dict[str, Any]:
    return {
        "customer_id": cus, "month_date": month, "mrr_minor": mrr, "currency": "usd", "share": 0.25,
        "detail": canonical_json({"items": ["si_1"], "note": note}), EVIL_COLUMN: f"evil {note}'\"\n,",
        "period_end": 1700600000,
    }


def build_store(path: Path):
    """A store with raw tables, a composite-key table and a derived table with awkward names."""
    store = open_store(path)
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [customer(f"cus_{i}", 1700000000 + i) for i in range(1, 6)])
        store.upsert_objects("subscriptions", [
            subscription("sub_1", "cus_1", "active"),
            subscription("sub_2", "cus_2", "canceled", canceled_at=1700500000, ended_at=1700500000),
        ])
        store.upsert_objects("invoices", [invoice("in_1", "cus_1", "sub_1", 1999), invoice("in_2", "cus_2", "sub_2", 120000)])
        store.upsert_objects("invoice_line_items", [
            line("il_1", "in_1", 1999, 1700000000, 1702592000),
            line("il_2", "in_2", 100000, 1700000000, 1731536000),
            line("il_3", "in_2", 20000, 1700000000, 1731536000),
        ])
        store.upsert_objects("coupons", [{
            "id": "co_1", "object": "coupon", "created": 1700000000, "livemode": False,
            "duration": "forever", "percent_off": 12.5, "amount_off": None, "currency": None,
        }])
    with store.db.atomic():
        create_derived_table(store)
        store.upsert_rows(DERIVED_TABLE, ("customer_id", "month_date"), [
            fact("cus_1", "2023-11-30", 1999, "first"), fact("cus_2", "2023-11-30", 10000),
            fact("cus_2", "2023-12-31", 0, "churn"),
        ])
    return store


def change_store(store) -> None:
    """One update, one soft delete and one insert, in raw and derived tables."""
    with store.db.atomic():
        store.upsert_objects("customers", [customer("cus_1", 1700000001, email="new@example.com"), customer("cus_9", 1700009999)])
    with store.db.atomic():
        store.mark_deleted("customers", [{"id": "cus_3"}])
        store.replace_scope(DERIVED_TABLE, ("customer_id", "month_date"), {"customer_id": "cus_2"}, [
            fact("cus_2", "2023-11-30", 10000),
        ])


# ---- normalisation ----------------------------------------------------------------
def _norm(value: Any, logical: str) -> Any:
    if value is None:
        return None
    if logical == "timestamp":
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, datetime):
            return int(value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp())
        return int(value)
    if logical == "boolean":
        return bool(value)
    if logical == "json":
        return canonical_json(json.loads(value) if isinstance(value, str) else value)
    if logical == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if logical == "double":
        return float(value)
    if logical == "bigint":
        return int(value)
    return value


def snapshot(rows: list[tuple[Any, ...]], types: list[str]) -> dict[str, Any]:
    normalised = sorted(
        (tuple(_norm(v, t) for v, t in zip(row, types)) for row in rows), key=lambda r: json.dumps(r, default=str)
    )
    digest = hashlib.sha256(json.dumps(normalised, default=str).encode()).hexdigest()
    return {"count": len(normalised), "sha256": digest, "rows": normalised}


def store_snapshot(store, table: str, columns: list[tuple[str, str]]) -> dict[str, Any]:
    """The store's side, read with plain SQL; ``_account_id`` appended as the export does."""
    names = [n for n, _ in columns if n != "_account_id"]
    rows = store.db.execute(f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(table)}").fetchall()
    return snapshot([(*row, ACCOUNT.account_id) for row in rows], [t for _, t in columns])


def postgres_snapshot(conn, schema: str, table: str, columns: list[tuple[str, str]]) -> dict[str, Any]:
    from psycopg import sql

    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(sql.Identifier(n) for n, _ in columns), sql.Identifier(schema, table)
        ))
        return snapshot(cur.fetchall(), [t for _, t in columns])


def _duckdb_select(columns: list[tuple[str, str]]) -> str:
    def expr(name: str, logical: str) -> str:
        ident = quote(name)
        # TIMESTAMPTZ to Python needs pytz; epoch seconds say the same thing
        return f"CAST(epoch({ident}) AS BIGINT)" if logical == "timestamp" else ident

    return ", ".join(expr(n, t) for n, t in columns)


def duckdb_snapshot(conn, table: str, columns: list[tuple[str, str]], schema: str = "main") -> dict[str, Any]:
    rows = conn.execute(f"SELECT {_duckdb_select(columns)} FROM {quote(schema)}.{quote(table)}").fetchall()
    return snapshot(rows, [t for _, t in columns])


# One in-memory DuckDB for reading files back: opening one costs ~40 ms.
_FILE_READER = duckdb.connect()


READ_TYPES = {"bigint": "BIGINT", "double": "DOUBLE", "text": "VARCHAR", "boolean": "BOOLEAN",
              "timestamp": "TIMESTAMPTZ", "json": "JSON", "date": "DATE", "bytes": "BLOB"}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_source(path: Path, fmt: str, columns: list[tuple[str, str]]) -> str:
    """One file read with its own reader, as a SELECT of every current column (NULL if absent)."""
    if fmt == "parquet":
        present = {row[0] for row in _FILE_READER.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_literal(str(path))})").fetchall()}
        source = f"read_parquet({_literal(str(path))})"
    elif fmt == "csv":
        with open(path, newline="", encoding="utf-8") as handle:
            present = set(next(csv.reader(handle)))
        typed = ", ".join(f"{_literal(n)}: {_literal(READ_TYPES[t])}" for n, t in columns if n in present)
        source = (f"read_csv({_literal(str(path))}, header = true, columns = {{{typed}}}, quote = '\"', "
                  "escape = '\"', allow_quoted_nulls = false)")
    else:
        present = {n for n, _ in columns}
        typed = ", ".join(f"{_literal(n)}: {_literal(READ_TYPES[t])}" for n, t in columns)
        source = f"read_json({_literal(str(path))}, format = 'newline_delimited', columns = {{{typed}}})"
    picked = ", ".join(
        quote(n) if n in present else f"CAST(NULL AS {READ_TYPES[t]}) AS {quote(n)}" for n, t in columns
    )
    return f"SELECT {picked}, {_literal(path.name)} AS _file FROM {source}"


def files_snapshot(directory: Path, fmt: str, table: str) -> dict[str, Any]:
    """A table's files listed in the manifest, merged as a loader would (docs/export.md): from
    the last full file on, per primary key the row with the highest _seq, the later file winning a tie."""
    manifest = json.loads((directory / "manifest.json").read_text())
    entry = manifest["tables"][table]
    columns = [(c["name"], c["type"]) for c in entry["schema"]["columns"]]
    fulls = [i for i, f in enumerate(entry["files"]) if f["full"]]
    files = entry["files"][fulls[-1]:] if fulls else entry["files"]  # a full file replaces those before it
    if not files:
        return snapshot([], [t for _, t in columns])
    union = " UNION ALL ".join(_file_source(directory / f["path"], fmt, columns) for f in files)
    key = ", ".join(quote(k) for k in entry["schema"]["primary_key"])
    rows = _FILE_READER.execute(
        f"SELECT {_duckdb_select(columns)} FROM ({union}) "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _seq DESC, _file DESC) = 1"
    ).fetchall()
    return snapshot(rows, [t for _, t in columns])


def columns_of(store, table: str) -> list[tuple[str, str]]:
    from connector.export.schema import table_schema

    return [(c.name, c.type) for c in table_schema(store, table).columns]
