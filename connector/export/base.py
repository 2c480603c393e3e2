"""What every export target offers, and the optional-extra import every target uses."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

from ..errors import ExportError
from .schema import TableSchema

# A database target's own record of which store history it holds: per (store id,
# account, table), the seq and timeline of the last committed load, written in the
# same transaction as the load. A store restored from a backup is caught by it
# (watermarks.py): the target holds more of the store than the store ever sent.
LOADS_TABLE = "_billing_connector_loads"


def require_extra(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or ExportError naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(
            f"this export target needs the {module} package: pip install '.[{extra}]' in the billing-connector checkout"
        ) from None


@dataclass
class TableLoad:
    """What a target did with one table."""

    rows_sent: int
    # rows the target inserted or updated; None where a target cannot tell (files keep every batch)
    rows_changed: int | None = None
    files: list[str] = field(default_factory=list)


class Target:
    """An export destination. Use as a context manager: ``with target: target.load(...)``.

    A target commits each table on its own (one transaction, or one file plus
    its manifest entry), so the caller can advance that table's watermark right
    after ``load`` returns. Every failure is an ExportError whose message names
    the target by ``identity`` (never a password) and leaves the target as it
    was before that table's load.
    """

    schemes: ClassVar[tuple[str, ...]] = ()
    identity: str
    # the store being exported, its timeline and account (export() sets them; watermarks.py says why)
    store_id: str = ""
    timeline: str = ""
    account_id: str = ""

    @classmethod
    def from_spec(cls, spec: str, schema: str | None, store: Any) -> "Target":
        """The target a ``--to`` value names, for the store being exported."""
        return cls(spec, schema)  # type: ignore[call-arg]

    def __enter__(self) -> "Target":
        try:
            self.open()
        except BaseException:
            self.close()  # whatever open() took (a lock, a connection) is released
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def open(self) -> None:
        """Connect and check the target is usable; ExportError otherwise."""

    def close(self) -> None:
        """Release connections (also after a failure)."""

    def existing_columns(self, schema: TableSchema) -> set[str] | None:
        """The columns the target's table has now, or None when it does not exist.

        Read-only: the caller re-sends a whole table whose target table is
        missing or lacks a column, so new columns are filled for every row.
        """
        raise NotImplementedError

    def last_export(self, schema: TableSchema, account_id: str, store_id: str) -> tuple[int, str] | None:
        """(seq to, timeline) of the last load of this store that the target itself records, if it keeps any.

        Files keep it in their manifest, databases in :data:`LOADS_TABLE`. Read-only.
        """
        return None

    def load(
        self, schema: TableSchema, rows: Iterable[tuple[Any, ...]], seq_from: int, seq_to: int, full: bool
    ) -> TableLoad:
        """Create or widen the table, write the rows of ``(seq_from, seq_to]`` and commit, all at once.

        With ``full`` the rows are every row of the store, and the table ends holding
        exactly them for this account: rows of it the store does not have (a lost
        history's, after a restore) are removed, as a full file replaces the files
        before it. ExportError on failure, with nothing of this table committed.
        """
        raise NotImplementedError
