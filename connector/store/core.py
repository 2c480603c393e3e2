"""The Store: one open billing-connector SQLite file, its registered migrations, its close.

Reads and writes live in the mixins (:mod:`.bookkeeping`, :mod:`.writes`);
opening a file (and refusing what is not a store) in :mod:`.opening`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence

import sqlite_utils

from ..errors import StoreError
from . import lock as storelock
from .bookkeeping import Bookkeeping
from .checked import CheckedSeqs
from .sql import now_iso, quote
from .tables import RawTable
from .writes import Writes

Migration = tuple[str, Callable[[sqlite_utils.Database], None]]


# A raw table's soft-deleted rows, and the partial index holding them alone (migrations.py; a
# condition the queries repeat word for word, so that SQLite sees the index serves them).
DELETED_ROWS = "_deleted != 0"
DELETED_ROWS_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (_deleted) WHERE " + DELETED_ROWS


class Store(Bookkeeping, Writes):
    """A billing-connector SQLite file. Open with :func:`connector.store.open_store`."""

    read_only = False  # set by open_store(read_only=True): migrations are refused, not applied
    lock: str | None = None  # the writer lock a writable open holds (store.lock), released by close()
    # when a writing open's quick check passed on a store checked only now and then (opening.py)
    integrity_checked_at: int | None = None
    # A dict to tally rows created / updated / deleted per table (the sync summary), or None.
    changes: dict[str, dict[str, int]] | None = None

    def __init__(self, db: sqlite_utils.Database, path: str | None):
        self.db = db
        self.path = path
        # The raw tables of the provider this store holds (one provider account per file):
        # open_store sets them from the store's meta, or the provider a new store is for.
        self.provider = "stripe"
        self.raw_tables: Mapping[str, RawTable] = {}
        # Who quarantines a record this run (store/quarantine.py), and how many so far.
        self.run_id = f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
        self.rejected_this_run = 0
        # The _seq numbers of raw rows this process wrote from value-checked objects (store/checked.py).
        self.checked_seqs = CheckedSeqs()
        # Tables filling without their indexes (store/first_load.py): the SQL to build them, and those
        # without their key index, where every row written is inserted.
        self.loading: dict[str, list[str]] = {}
        self.unkeyed: set[str] = set()

    def migrate(self, namespace: str, steps: Sequence[Migration]) -> list[str]:
        """Apply, in order, the steps of ``namespace`` not yet recorded as applied."""
        done = {
            name
            for (name,) in self.db.execute(
                "SELECT name FROM _migrations WHERE namespace = ?", [namespace]
            ).fetchall()
        }
        applied = []
        for name, step in steps:
            if name in done:
                continue
            if self.read_only:
                raise StoreError(
                    f"{self.path} lacks this version's {namespace} tables ({name}): run "
                    "`billing-connector sync` or `billing-connector backfill` once; reads never change the store"
                )
            with self.db.atomic():
                step(self.db)
                self.db.execute(
                    "INSERT INTO _migrations(namespace, name, applied_at) VALUES (?, ?, ?)",
                    [namespace, name, now_iso()],
                )
            applied.append(name)
        return applied

    def table_counts(self) -> dict[str, int]:
        """Live (not soft-deleted) rows per raw table: all its rows (SQLite counts them from its
        smallest index) less its soft-deleted ones (their partial index, ``DELETED_ROWS_INDEX``)."""
        return {
            name: self.db.execute(f"SELECT (SELECT count(*) FROM {quote(name)}) - "
                                  f"(SELECT count(*) FROM {quote(name)} WHERE {DELETED_ROWS})").fetchone()[0]
            for name in self.raw_tables
        }

    def close(self) -> None:
        self.db.close()
        if self.lock is not None:
            storelock.release(self.lock)
            self.lock = None
