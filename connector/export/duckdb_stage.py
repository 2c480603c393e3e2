"""Feeding rows to DuckDB from Python: a newline-delimited JSON staging file read back typed.

DuckDB's ``executemany`` is slow (thousands of rows a second); a staging file
read with ``read_json`` and explicit column types loads hundreds of thousands of
rows a second and needs no pandas or pyarrow. Used by the DuckDB target and by
the Parquet writer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .schema import TableSchema

DUCKDB_TYPES = {
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "text": "VARCHAR",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
    "json": "JSON",
    "date": "DATE",
    "bytes": "BLOB",
}
# How each logical type travels through the JSON file, and the expression that
# turns it back into its DuckDB type.
_STAGED_AS = {"bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}
_FROM_STAGE = {
    "timestamp": "CAST({} AS TIMESTAMPTZ)",
    "json": "CAST({} AS JSON)",
    "date": "CAST({} AS DATE)",
    "bytes": "from_base64({})",
}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _staged_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def write_stage(path: Path, schema: TableSchema, rows: Iterable[tuple[Any, ...]]) -> int:
    """Write rows as JSON arrays-as-objects, one per line; returns the row count."""
    names = schema.column_names
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            record = {name: _staged_value(value) for name, value in zip(names, row)}
            handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False))
            handle.write("\n")
            count += 1
    return count


def select_from_stage(path: Path, schema: TableSchema) -> str:
    """A SELECT yielding the staged rows with every column in its DuckDB type."""
    staged = ", ".join(
        f"{quote_literal(c.name)}: {quote_literal(_STAGED_AS.get(c.type, 'VARCHAR'))}" for c in schema.columns
    )
    expressions = ", ".join(
        f"{_FROM_STAGE.get(c.type, '{}').format(quote_ident(c.name))} AS {quote_ident(c.name)}"
        for c in schema.columns
    )
    return (
        f"SELECT {expressions} FROM read_json({quote_literal(str(path))}, "
        f"format = 'newline_delimited', columns = {{{staged}}})"
    )
