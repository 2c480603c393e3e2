"""Opening a store file: refuse what is not ours, create it private, migrate it.

A file that is not SQLite or is an SQLite file of some other application is
refused before SQLite writes a byte to it; a new file is created 0600 before
SQLite opens it. A writing open switches to WAL, runs SQLite's quick check and
applies the raw tables' migrations; a read-only open (``read_only=True``:
`status`, `mrr`, `report`, `explain`) uses SQLite's ``mode=ro`` and changes nothing.

Only a writing open runs the quick check, because writing into a damaged file can
spread the damage. A read cannot: it reads the schema and its metadata at once,
and a damaged page it meets later is the same clear error (``store_failure``:
exit 5, "corrupted … restore it from a backup"). The check reads the whole file
(12 s for the 4 GB store of 20,000 customers, where a nightly sync takes
seconds), so a store past ``CHECK_EVERY_OPEN_BELOW`` bytes is checked when its
last passed check (``_meta``) is ``CHECK_EVERY_SECONDS`` old; a smaller one at
every writing open. `doctor` checks the whole file whenever it is asked.
A crash cannot damage the store (WAL, ``synchronous = NORMAL``); what the check
is for is damage from outside (a disk, a copy cut short, another program).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from ..errors import StoreError
from . import first_load
from . import lock as storelock
from .core import Store
from .failures import SQLITE_READONLY_ROLLBACK, store_failure
from .migrations import bootstrap, recorded_provider, refuse_newer_version, use_provider

SQLITE_HEADER = b"SQLite format 3\x00"

# The writing open's quick check: every time below this size (about a second), else weekly.
CHECK_EVERY_OPEN_BELOW = 256 * 1024 * 1024
CHECK_EVERY_SECONDS = 7 * 86400
META_CHECKED_AT = "integrity_checked_at"
# The page size of a new store (SQLite's default is 4 KiB; a store made before keeps its own). Its rows
# are whole objects of 0.4 to 5 KB, read in full by the mapping: with 4 KiB pages an invoice spilled
# onto an overflow page and every page written cost two WAL writes. At 2,000 customers, 16 KiB
# pages made the file 13 % smaller and the sync's system time a third lower (BENCHMARKS.md, sixth
# session).
NEW_STORE_PAGE_SIZE = 16 * 1024

_FILE_KINDS = {stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket"}


def _refuse_non_regular(path: Path) -> None:
    """Refuse a device, pipe or socket as a store before opening it (a pipe would block the open forever)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot read store {path}: {exc.strerror}; check the path and its permissions") from None
    if stat.S_ISDIR(mode):
        raise StoreError(f"{path} is a directory; pass a file path with --db")
    if not stat.S_ISREG(mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise StoreError(f"{path} is {kind}, not a store file; pass a regular file path with --db")


def _create_file_private(path: Path) -> None:
    """Create an empty store file readable by its owner only (0600)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _check_is_sqlite(path: Path) -> None:
    """Refuse, without touching it, a file that is not an SQLite database."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read store {path}: {exc.strerror}; check the path and its permissions") from None
    if header and header != SQLITE_HEADER:
        raise StoreError(
            f"{path} is not a billing-connector store (not an SQLite file); it was left "
            "untouched: restore it from a backup or pass another --db"
        )


def _refuse_foreign(path: Path, conn: sqlite3.Connection) -> None:
    """Refuse an SQLite file that another application made (before anything is written to it)."""
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and not {"_meta", "_migrations"} <= tables:
        raise StoreError(
            f"{path} is an SQLite file but not a billing-connector store; it was left untouched: "
            "pass the store's path with --db"
        )


def _no_store(path: Path) -> StoreError:
    return StoreError(f"no store at {path}: run `billing-connector sync` first or pass --db")


def _corrupted(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    # read-only, full disk, busy: said as such; only a real corruption says "restore"
    return store_failure(exc, str(path)) or StoreError(
        f"{path} is corrupted or not a store ({exc}); restore it from a backup or pass another --db"
    )


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A ``mode=ro`` connection to an SQLite file, refused if another application made it."""
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
    )
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        _refuse_foreign(path, conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _open_read_only(path: Path) -> Store:
    """Open an existing store for reading: SQLite ``mode=ro``, no migration, no WAL switch."""
    _refuse_non_regular(path)
    if not path.exists():
        raise _no_store(path)
    _check_is_sqlite(path)
    if path.stat().st_size == 0:
        raise StoreError(
            f"{path} is an empty file, not a billing-connector store; it was left untouched: "
            "pass the store's path with --db"
        )
    try:
        conn = _connect_read_only(path)
    except sqlite3.DatabaseError as exc:
        raise _corrupted(path, exc) from None
    store = Store(sqlite_utils.Database(conn), str(path))
    store.read_only = True
    with closed_on_failure(store):  # a damaged page met here or later says so (store_failure)
        provider = recorded_provider(store)
        if provider is None:
            raise StoreError(
                f"{path} is an SQLite file but not a billing-connector store; it was left untouched: "
                "pass the store's path with --db"
            )
        use_provider(store, provider)  # read-only: refuses (does not apply) a pending step
    return store


def _check_before_lock(path: Path, create: bool) -> None:
    """Refuse, writing nothing (not even the lock file), a path that is not a store and is not to become one.

    A missing file is to become one (``create``): it is created under the lock, so
    of two first syncs racing for it the second stops at the lock (exit 9). An
    existing file is looked at through a read-only connection: not SQLite, another
    application's, corrupted or laid out by a newer version, it is refused here.
    """
    _refuse_non_regular(path)
    if not path.exists():
        if not create:
            raise _no_store(path)
        return
    _check_is_sqlite(path)
    if path.stat().st_size == 0:
        return  # an empty file becomes a store as a missing one does
    try:
        conn = _connect_read_only(path)
        try:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            row = conn.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone() if "_meta" in tables else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode == SQLITE_READONLY_ROLLBACK:
            # a write cut short in rollback-journal mode (store.bulk.rollback_journal): only a writable
            # connection can undo it; the writable open does, and bootstrap checks the version under the lock
            return
        raise _corrupted(path, exc) from None
    refuse_newer_version(path, row[0] if row else None)


def open_store(
    path: str | os.PathLike[str] | None, *, create: bool = True, read_only: bool = False,
    provider: str | None = None,
) -> Store:
    """Open (or create) a store; in-memory when ``path`` is None.

    ``read_only`` opens an existing store without writing a byte (reads never
    write). ``provider`` names the provider a sync is about to write (a new
    store gets its raw tables; default Stripe's). Raises StoreError for a
    missing store (when not creating), a file that is not SQLite, is
    corrupted, belongs to another application or holds another provider's
    account, or cannot be opened; such a file is never modified.
    """
    if read_only:
        return _open_read_only(Path(path))
    if path is None:
        db = sqlite_utils.Database(memory=True)
        store = Store(db, None)
    else:
        path = Path(path)
        _check_before_lock(path, create)
        # One writer per store: a second sync stops here (exit 9) instead of fighting for SQLite's lock.
        lock = storelock.acquire(path)
        try:
            store = _open_writable(path, create)
        except BaseException:
            storelock.release(lock)
            raise
        store.lock = lock
    with closed_on_failure(store):
        bootstrap(store, provider)
        # a first sync killed while its tables filled: their indexes before anything reads or writes them
        first_load.finish(store)
        if store.integrity_checked_at is not None:
            with store.db.atomic():
                store.set_meta(META_CHECKED_AT, str(store.integrity_checked_at))
    return store


@contextlib.contextmanager
def closed_on_failure(store: Store) -> Iterator[Store]:
    """Close ``store`` if the block fails; an SQLite failure becomes what it means for this store.

    A full disk, a read-only file or a busy store is said as such, naming the
    store (``store_failure``, by the error's code); any other failure passes through.
    """
    try:
        yield store
    except sqlite3.Error as exc:
        store.close()
        raise store_failure(exc, store.path) or exc from None
    except BaseException:
        store.close()
        raise


@contextlib.contextmanager
def opened(path: str | os.PathLike[str] | None, **options) -> Iterator[Store]:
    """:func:`open_store` (same options) for the length of a block, closed at its end, whatever happens.

    An SQLite failure inside the block is said as such for this store (see :func:`closed_on_failure`).
    """
    store = open_store(path, **options)
    with closed_on_failure(store):
        yield store
    store.close()


def _open_writable(path: Path, create: bool) -> Store:
    if path.exists():
        _check_is_sqlite(path)
    elif create:
        try:
            _create_file_private(path)
        except OSError as exc:
            raise StoreError(f"cannot create store {path}: {exc.strerror}") from None
    else:
        raise _no_store(path)
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        try:
            _refuse_foreign(path, conn)
        except StoreError:
            conn.close()
            raise
        db = sqlite_utils.Database(conn)
        if path.stat().st_size == 0:   # a new store: the page size is fixed with the file's first page
            db.execute(f"PRAGMA page_size = {NEW_STORE_PAGE_SIZE}")
        db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives any process crash (kill -9) with every
        # committed transaction intact; only power loss can drop the last ones,
        # and cursors roll back together with their pages.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA busy_timeout = 10000")
        checked_at = _quick_check(path, db)
    except sqlite3.DatabaseError as exc:
        raise _corrupted(path, exc) from None
    store = Store(db, str(path))
    store.integrity_checked_at = checked_at
    return store


def _quick_check(path: Path, db) -> int | None:
    """SQLite's quick check, when due (see the module's docstring); the time it passed, to be recorded
    in ``_meta``, for a store big enough to be checked only now and then; else None."""
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    now = int(time.time())
    if size >= CHECK_EVERY_OPEN_BELOW:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        row = db.execute("SELECT value FROM _meta WHERE key = ?", [META_CHECKED_AT]).fetchone() \
            if "_meta" in tables else None
        last = int(row[0]) if row and str(row[0]).isdigit() else None
        if last is not None and 0 <= now - last < CHECK_EVERY_SECONDS:
            return None
    result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise StoreError(f"{path} failed its integrity check ({result}); restore it from a backup")
    return now if size >= CHECK_EVERY_OPEN_BELOW else None
