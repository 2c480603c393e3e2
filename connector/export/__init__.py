"""Export the store's data tables to a warehouse, incrementally: ``export(store, "postgres://...")``.

Targets are registered in :data:`TARGETS` by URL scheme. A run sends, per
table, the rows whose ``_seq`` is above that target's watermark for the table
(all rows with ``full=True``, or when the target lacks the table or one of its
columns) and up to the store's sequence when the run started; the watermark
advances only after the target committed the table. Tables are committed one by
one, so a run that fails or is killed part-way leaves the finished tables
exported and the others exactly as they were; the next run picks up from there
and ends where a clean run would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import quarantine
from ..errors import ConfigError, ExportError
from ..quarantine import Rejected
from ..store import Store
from .base import Target
from .duckdb_target import DuckDBTarget
from .files import FileTarget
from .postgres import PostgresTarget
from .schema import changed_rows, select_tables, table_schema
from .watermarks import all_watermarks, ensure_watermarks, get_watermark, set_watermark

# Every target, by the scheme of its --to value.
TARGETS: dict[str, type[Target]] = {
    scheme: cls for cls in (PostgresTarget, DuckDBTarget, FileTarget) for scheme in cls.schemes
}
TARGET_EXAMPLES = "postgres://user@host/db, duckdb:PATH, parquet:DIR, csv:DIR or jsonl:DIR"


@dataclass
class TableExport:
    rows_sent: int
    rows_changed: int | None   # rows the target inserted or updated (databases); None for files
    seq_from: int              # rows with seq_from < _seq <= seq_to were sent
    seq_to: int
    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (row key, why) of rows left out


@dataclass
class ExportResult:
    target: str                # the target's identity: never a password
    seq: int                   # the store's change sequence the run exported up to
    tables: dict[str, TableExport] = field(default_factory=dict)

    @property
    def rows(self) -> dict[str, int]:
        return {name: table.rows_sent for name, table in self.tables.items()}

    @property
    def skipped(self) -> int:
        """Rows left out because a value does not fit its column (quarantined, exit 8)."""
        return sum(len(table.skipped) for table in self.tables.values())

    @property
    def files(self) -> list[str]:
        return [path for table in self.tables.values() for path in table.files]


def make_target(spec: str, store: Store, schema: str | None = None) -> Target:
    """The target a ``--to`` value names; ConfigError (usage, exit 2) for an unknown scheme."""
    scheme = spec.split(":", 1)[0].lower() if ":" in spec else ""
    target_class = TARGETS.get(scheme)
    if target_class is None:
        raise ConfigError(f"unknown export target {spec.split(':', 1)[0]!r}: use {TARGET_EXAMPLES}")
    return target_class.from_spec(spec, schema, store)


def export(
    store: Store,
    target: str,
    tables: Sequence[str] | None = None,
    full: bool = False,
    schema: str | None = None,
) -> ExportResult:
    """Send the rows changed since this target's last export (all with ``full``), table by table.

    Raises ExportError (exit code 7) naming the target without its password;
    tables committed before the failure keep their new watermark, the failed one
    keeps its old one and is left in the target as it was.
    """
    account = store.account()
    if account is None:
        raise ExportError("the store holds no account yet: run `billing-connector sync` first")
    names = select_tables(store, tables)
    destination = make_target(target, store, schema)
    ensure_watermarks(store)
    upto = store.current_seq()
    result = ExportResult(target=destination.identity, seq=upto)
    with destination:
        for name in names:
            result.tables[name] = _export_table(store, destination, name, upto, full, account.account_id)
    return result


def _export_table(store: Store, destination: Target, name: str, upto: int, full: bool, account_id: str) -> TableExport:
    schema = table_schema(store, name)
    watermark = get_watermark(store, destination.identity, name)
    committed = destination.committed_seq(schema, account_id, watermark)
    if committed is not None and watermark < committed <= upto:
        set_watermark(store, destination.identity, name, committed, 0)
        watermark = committed
    existing = destination.existing_columns(schema)
    complete = existing is not None and set(schema.column_names) <= existing
    # A new table, or one that gained a column upstream, is sent whole so every row has every column.
    start = watermark if complete and not full else 0
    if complete and start >= upto:
        return TableExport(rows_sent=0, rows_changed=0, seq_from=start, seq_to=start)
    skipped: list[tuple[str, str]] = []
    rows = changed_rows(store, schema, start, upto, account_id, skipped=skipped)
    load = destination.load(schema, rows, start, upto, full=start == 0)
    with store.db.atomic():
        set_watermark(store, destination.identity, name, upto, load.rows_sent)
        # One odd value must not hold back every other row, now or on every later run.
        quarantine.record(store, [Rejected(name, str(key), f"not exported: {why}", str(key).encode())
                                  for key, why in skipped])
    return TableExport(load.rows_sent, load.rows_changed, start, upto, load.files, skipped)


__all__ = [
    "TARGETS", "ExportResult", "TableExport", "export", "make_target", "all_watermarks", "Target",
]
