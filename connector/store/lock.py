"""One writer per store: an exclusive lock on ``<db>.lock``, held while a command may write.

SQLite's own locking keeps the file consistent, but two syncs interleaving
pages, cursors and MRR refreshes would each redo the other's work and fight
for the write lock until one times out with a traceback. A writing command
takes this lock first (``fcntl.flock``: released by the kernel when the holder
dies, even by kill -9) and records its pid, so the second one stops at once
with exit 9 naming the holder. Reads (``read_only`` opens) never take it.

Within one process a store opened twice shares the lock (a count per path).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from ..errors import StoreError, StoreLocked

_lock = threading.Lock()
_held: dict[str, list[int]] = {}  # real path of the store -> [descriptor, opens]


def _lock_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock")


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


def acquire(store_path: Path) -> str:
    """Take the store's writer lock; StoreLocked (exit 9) naming the holder's pid if another process has it.

    Returns the key to hand to :func:`release`.
    """
    key = os.path.realpath(store_path)
    with _lock:
        if key in _held:
            _held[key][1] += 1
            return key
        path = _lock_path(Path(key))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot create the lock file {path}: {exc.strerror}; check the folder's permissions") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise StoreLocked(
                f"another process (pid {holder}) holds {store_path}: a sync or another writing command is "
                f"running; wait for it to finish and run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = [fd, 1]
        return key


def release(key: str) -> None:
    with _lock:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            # the file stays: unlinking it would let a third process lock a new inode while we still hold the old one
            os.close(entry[0])
