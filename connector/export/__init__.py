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

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..store import quarantine
from ..errors import ConfigError, ExportError
from ..store.quarantine import Rejected
from ..store import Store
from .base import Target
from .duckdb_target import DuckDBTarget
from .files import FileTarget
from .postgres import PostgresTarget
from .schema import changed_rows, select_tables, table_schema
from .watermarks import (
    all_watermarks, ensure_watermarks, get_watermark, high_water, new_timeline, set_pending, set_watermark,
    store_identity)

log = logging.getLogger("billing_connector.export")

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
    destination.store_id, destination.timeline = store_identity(store)
    destination.account_id = account.account_id
    upto = store.current_seq()
    result = ExportResult(target=destination.identity, seq=upto)
    with destination:
        _check_timeline(store, destination, names, account.account_id)
        for name in names:
            result.tables[name] = _export_table(store, destination, name, upto, full, account.account_id)
    return result


def _check_timeline(store: Store, destination: Target, names: Sequence[str], account_id: str) -> None:
    """Start a new timeline if the target holds more of this store than the store ever sent there.

    The target's own record of this store (files keep one) is checked against
    what the store ever started sending there: more than that means the target
    holds changes of a history the store no longer has — it was restored from a
    backup, and its sequence numbers are being reused. Checked for every table
    before any is sent, so every table of every target is then re-sent in full.
    """
    for name in names:
        last = destination.last_export(table_schema(store, name), account_id, destination.store_id)
        if last is None or last[1] != destination.timeline:
            continue
        if last[0] > high_water(store, destination.identity, name):
            destination.timeline = new_timeline(store)
            log.warning("%s: %s holds changes up to seq %d this store never had (restored from a backup?); "
                        "a new timeline starts and every table is sent in full", destination.identity, name, last[0])
            return


def _resume_point(store: Store, destination: Target, schema, account_id: str, upto: int) -> int:
    """The seq this table's export continues from; 0 = send it in full (another timeline's watermark)."""
    name, target = schema.name, destination.identity
    watermark = get_watermark(store, target, name, destination.timeline)
    last = destination.last_export(schema, account_id, destination.store_id)
    if last is None:
        return watermark
    seq_to, timeline = last
    if timeline not in ("", destination.timeline) or seq_to > high_water(store, target, name):
        return 0
    if watermark < seq_to <= upto:
        # killed after the target committed, before the store recorded it
        set_watermark(store, target, name, seq_to, 0, destination.timeline)
        return seq_to
    return watermark


def _export_table(store: Store, destination: Target, name: str, upto: int, full: bool, account_id: str) -> TableExport:
    schema = table_schema(store, name)
    watermark = _resume_point(store, destination, schema, account_id, upto)
    existing = destination.existing_columns(schema)
    complete = existing is not None and set(schema.column_names) <= existing
    # A new table, or one that gained a column upstream, is sent whole so every row has every column.
    start = watermark if complete and not full else 0
    if complete and start >= upto:
        return TableExport(rows_sent=0, rows_changed=0, seq_from=start, seq_to=start)
    skipped: list[tuple[str, str]] = []
    set_pending(store, destination.identity, name, upto, destination.timeline)
    rows = changed_rows(store, schema, start, upto, account_id, skipped=skipped)
    load = destination.load(schema, rows, start, upto, full=start == 0)
    with store.db.atomic():
        set_watermark(store, destination.identity, name, upto, load.rows_sent, destination.timeline)
        # One odd value must not hold back every other row, now or on every later run.
        quarantine.record(store, [Rejected(name, str(key), f"not exported: {why}", str(key).encode())
                                  for key, why in skipped])
    return TableExport(load.rows_sent, load.rows_changed, start, upto, load.files, skipped)


__all__ = [
    "TARGETS", "ExportResult", "TableExport", "export", "make_target", "all_watermarks", "Target",
]
