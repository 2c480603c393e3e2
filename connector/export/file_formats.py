"""Writing one batch of rows as Parquet, CSV or newline-delimited JSON.

Each writer takes a path, the table's schema and the rows, writes the whole
file and returns the row count. They write wherever they are told: the caller
(``files.py``) gives them a temporary name and renames the file into place.

Value conventions (docs/export.md):

* CSV: a header line; NULL is an empty unquoted field, every text value is
  quoted (so an empty string is ``""``), and one that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a CR gets a leading ``'`` (OWASP: a spreadsheet would
  run it as a formula); numbers are unquoted; booleans ``true``/``false``;
  timestamps ISO 8601 UTC (``2026-11-23T11:24:05Z``); JSON columns as JSON text;
  bytes as base64.
* JSONL: one object per line; JSON columns embedded as JSON values; the rest
  as in CSV, with null for NULL.
* Parquet: written by DuckDB with the same types as the DuckDB target
  (BIGINT, TIMESTAMPTZ, JSON, DATE, BOOLEAN ...).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Any

from ..private_files import DEFAULT_MODE, create_text
from .base import require_extra
from .duckdb_stage import quote_literal, select_from_stage, write_stage
from .schema import JSON, TableSchema


def open_output(path: Path, mode: int = DEFAULT_MODE) -> IO[str]:
    """Every text file the file targets write goes through here (tests inject a full disk):
    created new with the store's ``mode``, never through whatever was planted at ``path``."""
    return create_text(path, mode)


# OWASP "CSV injection": a cell a spreadsheet would run as a formula. Such text gets a
# leading single quote; numbers are written unquoted and stay numbers.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        text = base64.b64encode(value).decode("ascii")  # base64 runs nothing
    else:
        text = neutralised(str(value))
    return '"' + text.replace('"', '""') + '"'


def write_csv(path: Path, schema: TableSchema, rows: Iterable[tuple[Any, ...]], mode: int = DEFAULT_MODE) -> int:
    count = 0
    with open_output(path, mode) as handle:
        handle.write(",".join(_csv_field(name) for name in schema.column_names) + "\n")
        for row in rows:
            handle.write(",".join(_csv_field(value) for value in row) + "\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


def _json_value(value: Any, is_json: bool) -> Any:
    if value is None:
        return None
    if is_json:
        return json.loads(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def write_jsonl(path: Path, schema: TableSchema, rows: Iterable[tuple[Any, ...]], mode: int = DEFAULT_MODE) -> int:
    names = schema.column_names
    is_json = [c.type == JSON for c in schema.columns]
    count = 0
    with open_output(path, mode) as handle:
        for row in rows:
            record = {name: _json_value(value, flag) for name, value, flag in zip(names, row, is_json)}
            handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


class ParquetWriter:
    """Writes Parquet through one in-memory DuckDB connection per export run (opening one costs ~40 ms)."""

    def __init__(self) -> None:
        self._conn = None
        self.mode = DEFAULT_MODE

    def __call__(self, path: Path, schema: TableSchema, rows: Iterable[tuple[Any, ...]]) -> int:
        if self._conn is None:
            self._conn = require_extra("duckdb", "parquet").connect()
        # DuckDB writes into a private (0700) folder beside the target, so it never
        # writes through a planted name; the file is then given the mode and renamed.
        with tempfile.TemporaryDirectory(prefix=".billing-connector-", dir=path.parent) as scratch:
            stage = Path(scratch) / "stage.jsonl"
            written = Path(scratch) / "out.parquet"
            count = write_stage(stage, schema, rows)
            self._conn.execute(
                f"COPY ({select_from_stage(stage, schema)}) TO {quote_literal(str(written))} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            os.chmod(written, self.mode)
            os.replace(written, path)
        return count

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class TextWriter:
    """A CSV or JSONL writer: a plain function, nothing to hold between tables."""

    def __init__(self, write: Callable[..., int]):
        self._write = write
        self.mode = DEFAULT_MODE

    def __call__(self, path: Path, schema: TableSchema, rows: Iterable[tuple[Any, ...]]) -> int:
        return self._write(path, schema, rows, self.mode)

    def close(self) -> None:
        """Nothing held."""


# format -> (file extension, writer factory)
FORMATS: dict[str, tuple[str, Callable[[], ParquetWriter | TextWriter]]] = {
    "parquet": ("parquet", ParquetWriter),
    "csv": ("csv", lambda: TextWriter(write_csv)),
    "jsonl": ("jsonl", lambda: TextWriter(write_jsonl)),
}
