"""Bulk loads into empty tables: which tables are empty, multi-row inserts, the page cache, WAL
checkpoints and the journal of one big write. (Their indexes, dropped during the load and built
after it: ``first_load.py``.)
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

from .failures import SQLITE_BUSY
from .sql import quote

log = logging.getLogger(__name__)


def is_empty(db, table: str) -> bool:
    """No live row: nothing stale to look for, every row written is new."""
    return db.execute(f'SELECT 1 FROM "{table}" WHERE _deleted = 0 LIMIT 1').fetchone() is None


def has_no_rows(db, table: str) -> bool:
    """No row at all, not even a soft-deleted one (whose key a plain INSERT would collide with)."""
    return db.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is None


@contextmanager
def page_cache(db, kib: int) -> Iterator[None]:
    """A page cache of at least ``kib`` KiB for one big write (the default is 2 MB): with the default
    the indexes being written no longer fit, and their pages are spilled and read again."""
    previous = db.execute("PRAGMA cache_size").fetchone()[0]
    if previous >= 0 or -previous < kib:
        db.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {int(previous)}")


@contextmanager
def wal_checkpoints_every(db, pages: int) -> Iterator[None]:
    """Checkpoint the WAL every ``pages`` pages (SQLite's default: 1,000) for one long write: a
    page written again and again between checkpoints is copied into the file once per checkpoint."""
    previous = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    db.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA wal_autocheckpoint = {int(previous)}")


def sql_literal(value: Any) -> str:
    """``value`` (None, an int, a str) as SQL text: strings quoted the SQL way (SQLite has no
    backslash escapes, a quote is doubled); anything else raises rather than guess."""
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, str) and "\0" not in value:
        return "'" + value.replace("'", "''") + "'"
    raise ValueError(f"no SQL literal for {value!r}")


# Bound values per statement at most: SQLite before 3.32 allowed 999.
_MAX_VARIABLES = 999
# Rows per multi-row INSERT: Python's sqlite3 costs about a microsecond per statement run (measured:
# half of a bulk insert's time with one row each); 32 to 128 rows each were alike, a third cheaper.
ROWS_PER_INSERT = 64


def rows_per_insert(columns: Sequence[str]) -> int:
    """How many rows of ``columns`` one INSERT of :func:`insert_sql` takes (bounded by SQLite's variables)."""
    return max(1, min(ROWS_PER_INSERT, _MAX_VARIABLES // max(1, len(columns))))


def insert_sql(table: str, columns: Sequence[str], constants: Mapping[str, Any], rows: int = 1,
               replace: bool = False) -> str:
    """A plain INSERT of ``rows`` rows binding ``columns`` for each, with ``constants`` (one value for
    every row) written into the statement: a bulk load of millions of rows binds only what differs
    from row to row, and runs one statement per ``rows`` rows. ``replace``: INSERT OR REPLACE (a row
    whose key is taken replaces the one there)."""
    names = [*columns, *constants]
    one = f"({', '.join(['?' for _ in columns] + [sql_literal(value) for value in constants.values()])})"
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    return (f"{verb} INTO {quote(table)} ({', '.join(quote(name) for name in names)}) "
            f"VALUES {', '.join(one for _ in range(rows))}")


def insert_rows(conn, table: str, columns: Sequence[str], rows: Sequence[tuple], constants: Mapping[str, Any],
                replace: bool = False) -> None:
    """Insert ``rows`` (each the values of ``columns``) with ``constants``, in order, several rows per statement
    (``replace``: see :func:`insert_sql`)."""
    per = rows_per_insert(columns)
    whole = len(rows) - len(rows) % per
    if whole:
        flat = chain.from_iterable
        conn.executemany(insert_sql(table, columns, constants, per, replace),
                         [tuple(flat(rows[start:start + per])) for start in range(0, whole, per)])
    if whole < len(rows):
        conn.executemany(insert_sql(table, columns, constants, replace=replace), rows[whole:])


@contextmanager
def rollback_journal(db, enabled: bool = True) -> Iterator[bool]:
    """Run a bulk load into empty tables with a rollback journal, then return the store to WAL.

    In WAL mode every page a transaction writes is written twice: into the log, then by the
    checkpoint into the file. With a rollback journal, a page appended past the file's end is
    written once, into the file, and the journal keeps only the few pages that existed before
    (a 100,000-customer MRR rebuild writes about 1.5 GB of new pages). Crash-safe all the same:
    a process killed mid-load leaves a hot journal that the next writable open rolls back
    (``open_store`` then returns the file to WAL); ``synchronous`` is FULL meanwhile. Readers
    wait for each commit, and for the load's pages spilled into the file before it (no snapshot
    reads without WAL), so only a first load, which they have nothing to read from yet, should take
    it: a first sync into a new store (``app/syncing.py``), a first MRR build (``refresh.py``).

    Yields whether the switch happened: it needs no open transaction, a file in WAL mode and no
    other connection to it (another process reading); otherwise the load runs in WAL as before.
    """
    if not enabled or db.conn.in_transaction or db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        yield False
        return
    timeout = db.execute("PRAGMA busy_timeout").fetchone()[0]
    synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    db.execute("PRAGMA busy_timeout = 0")   # another connection: load in WAL now rather than wait for it
    try:
        switched = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF != SQLITE_BUSY:
            raise
        switched = False
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    if not switched:
        yield False
        return
    db.execute("PRAGMA synchronous = FULL")
    try:
        yield True
    finally:
        db.execute(f"PRAGMA synchronous = {int(synchronous)}")
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            # a reader came in meanwhile: the store is whole, and the next writable open returns it to WAL
            if exc.sqlite_errorcode & 0xFF != SQLITE_BUSY:
                raise
            log.warning("the store stays in rollback-journal mode until its next write: another process reads it")
