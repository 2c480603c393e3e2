"""The DuckDB target: ``duckdb:PATH`` (a DuckDB database file, created if missing).

Same tables and types as the PostgreSQL target. Each table is loaded in one
DuckDB transaction: create the table if missing, add new upstream columns,
then ``INSERT OR REPLACE`` the staged rows that differ from what the table
holds, so a re-sent batch changes nothing, and record the load in
``_billing_connector_loads`` (base.LOADS_TABLE). A full load also removes this
account's rows the store does not have. A failure rolls the table back.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ExportError
from .base import LOADS_TABLE, TableLoad, Target, require_extra
from .duckdb_stage import DUCKDB_TYPES, quote_ident, select_from_stage, write_stage
from .schema import ACCOUNT_COLUMN, TableSchema

DEFAULT_DUCKDB_SCHEMA = "main"


class DuckDBTarget(Target):
    schemes = ("duckdb",)

    def __init__(self, spec: str, schema: str | None = None):
        location = spec.split(":", 1)[1]
        if not location:
            raise ConfigError("duckdb target needs a file path: --to duckdb:PATH")
        self.path = Path(location).expanduser().resolve()
        self.schema = schema or DEFAULT_DUCKDB_SCHEMA
        suffix = "" if self.schema == DEFAULT_DUCKDB_SCHEMA else f"?schema={self.schema}"
        self.identity = f"duckdb:{self.path}{suffix}"
        self._duckdb: Any = None
        self._conn: Any = None

    def open(self) -> None:
        self._duckdb = require_extra("duckdb", "duckdb")
        if not self.path.parent.is_dir():
            raise ExportError(f"{self.identity}: folder {self.path.parent} does not exist; create it first")
        try:
            self._conn = self._duckdb.connect(str(self.path))
        except self._duckdb.Error as exc:
            raise ExportError(f"cannot open {self.identity}: {_first_line(exc)}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def existing_columns(self, schema: TableSchema) -> set[str] | None:
        rows = self._conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [self.schema, schema.name],
        ).fetchall()
        return {name for (name,) in rows} or None

    def last_export(self, schema: TableSchema, account_id: str, store_id: str) -> tuple[int, str] | None:
        try:
            if not self._has_table(LOADS_TABLE):
                return None
            row = self._conn.execute(
                f"SELECT seq_to, timeline FROM {self._loads} WHERE store_id = ? AND account_id = ? AND table_name = ?",
                [store_id, account_id, schema.name],
            ).fetchone()
        except self._duckdb.Error as exc:
            raise ExportError(f"{self.identity}: could not read {LOADS_TABLE}: {_first_line(exc)}") from None
        return (int(row[0]), str(row[1])) if row else None

    @property
    def _loads(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(LOADS_TABLE)}"

    def _has_table(self, name: str) -> bool:
        return self._conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [self.schema, name],
        ).fetchone()[0] > 0

    def load(
        self, schema: TableSchema, rows: Iterable[tuple[Any, ...]], seq_from: int, seq_to: int, full: bool
    ) -> TableLoad:
        table = f"{quote_ident(self.schema)}.{quote_ident(schema.name)}"
        columns = ", ".join(quote_ident(n) for n in schema.column_names)
        existing = self.existing_columns(schema)
        with tempfile.TemporaryDirectory(prefix="billing-connector-") as scratch:
            stage_path = Path(scratch) / "stage.jsonl"
            sent = write_stage(stage_path, schema, rows)
            try:
                self._conn.execute("BEGIN TRANSACTION")
                self._conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
                if existing is None:
                    self._conn.execute(f"CREATE TABLE {table} ({self._definitions(schema)})")
                else:
                    for column in schema.columns:
                        if column.name not in existing:
                            self._conn.execute(
                                f"ALTER TABLE {table} ADD COLUMN {quote_ident(column.name)} {DUCKDB_TYPES[column.type]}"
                            )
                removed = self._remove_absent(table, schema, stage_path) if full and existing is not None else 0
                changed = self._conn.execute(
                    f"INSERT OR REPLACE INTO {table} ({columns}) "
                    f"SELECT * FROM ({select_from_stage(stage_path, schema)} "
                    f"EXCEPT SELECT {columns} FROM {table})"
                ).fetchone()[0]
                self._record_load(schema, seq_to)
                self._conn.execute("COMMIT")
            except self._duckdb.Error as exc:
                self._rollback()
                raise ExportError(f"{self.identity}: could not load {schema.name}: {_first_line(exc)}") from None
            except BaseException:
                self._rollback()
                raise
        return TableLoad(rows_sent=sent, rows_changed=int(changed) + removed)

    def _remove_absent(self, table: str, schema: TableSchema, stage_path: Path) -> int:
        """Delete this account's rows that a full load does not hold: the store has no such row."""
        same_key = " AND ".join(f"s.{quote_ident(k)} = t.{quote_ident(k)}" for k in schema.primary_key)
        absent = (f"t.{quote_ident(ACCOUNT_COLUMN)} = ? AND NOT EXISTS "
                  f"(SELECT 1 FROM ({select_from_stage(stage_path, schema)}) s WHERE {same_key})")
        count = self._conn.execute(f"SELECT count(*) FROM {table} t WHERE {absent}", [self.account_id]).fetchone()[0]
        if count:
            self._conn.execute(f"DELETE FROM {table} t WHERE {absent}", [self.account_id])
        return int(count)

    def _record_load(self, schema: TableSchema, seq_to: int) -> None:
        """Which store history the table now holds, committed with the load (base.LOADS_TABLE)."""
        if not self.store_id:
            return
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self._loads} (store_id VARCHAR NOT NULL, account_id VARCHAR NOT NULL, "
            "table_name VARCHAR NOT NULL, seq_to BIGINT NOT NULL, timeline VARCHAR NOT NULL, "
            "loaded_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (store_id, account_id, table_name))"
        )
        self._conn.execute(
            f"INSERT OR REPLACE INTO {self._loads} VALUES (?, ?, ?, ?, ?, current_timestamp)",
            [self.store_id, self.account_id, schema.name, seq_to, self.timeline],
        )

    def _definitions(self, schema: TableSchema) -> str:
        parts = [
            f"{quote_ident(c.name)} {DUCKDB_TYPES[c.type]}{' NOT NULL' if c.name in schema.primary_key else ''}"
            for c in schema.columns
        ]
        parts.append(f"PRIMARY KEY ({', '.join(quote_ident(n) for n in schema.primary_key)})")
        return ", ".join(parts)

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except self._duckdb.Error:
            # No transaction open (BEGIN itself failed): nothing to undo.
            return


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__
