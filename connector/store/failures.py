"""What an SQLite failure means for the person running the tool, by its result code.

SQLite reports a full disk, a read-only file, a busy store and a corrupted one
through the same exception class; only ``sqlite_errorcode`` tells them apart
(never the message text). Each becomes a StoreError (or StoreLocked) whose
message says what happened and what to do — a full disk is not "corrupted,
restore from a backup".
"""

from __future__ import annotations

import errno
import sqlite3

from ..errors import ConnectorError, StoreError, StoreLocked

# Primary result codes (the low byte of an extended code), from sqlite3.h.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 5, 6, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 13, 14, 26
# Extended: a read-only connection met the rollback journal of a write that was cut short.
SQLITE_READONLY_ROLLBACK = SQLITE_READONLY | (3 << 8)


def store_failure(exc: sqlite3.Error, path: str | None) -> ConnectorError | None:
    """The ConnectorError an SQLite failure on the store at ``path`` stands for; None when it is a bug."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    where = path or "the store"
    primary = code & 0xFF
    if primary == SQLITE_FULL:
        return StoreError(
            f"the disk is full: {where} could not be written (nothing after its last committed change "
            "was written); free some space and run again"
        )
    if code == SQLITE_READONLY_ROLLBACK:
        return StoreError(
            f"a write to {where} was cut short (its rollback journal is still there), and a read cannot undo "
            "it: run a writing command such as `billing-connector sync` once; nothing committed was lost"
        )
    if primary == SQLITE_READONLY:
        return StoreError(
            f"{where} is read-only: this command writes to it; give it (and its folder, for the -wal and "
            "-shm files) write access, or run a read-only command such as `status`"
        )
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreLocked(f"{where} stayed locked by another process: wait for it to finish and run again")
    if primary == SQLITE_CANTOPEN:
        return StoreError(f"cannot open {where}: check that its folder exists and is writable")
    if primary == SQLITE_IOERR:
        return StoreError(f"the disk failed while reading or writing {where} (I/O error): check the disk and run again")
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreError(f"{where} is corrupted or not a store ({exc}); restore it from a backup or pass another --db")
    return None


def os_failure(exc: OSError) -> ConnectorError | None:
    """A full or read-only disk met while writing a file (a report, an export, a lock)."""
    target = exc.filename or "a file"
    if exc.errno == errno.ENOSPC:
        return ConnectorError(f"the disk is full while writing {target}: free some space and run again")
    if exc.errno == errno.EROFS:
        return ConnectorError(f"{target} is on a read-only file system: write somewhere else")
    return None
