"""Files written beside the store (exports, reports): its mode, and never through a planted name.

They hold the same billing data as the store, so they get the store file's
permissions (0600 unless the store's own mode says otherwise) whatever the
umask. And a name someone planted in the folder — a symlink at the temporary
name, pointing at a file of theirs or of the user's — is never followed: a file
is created only where nothing is (``O_CREAT | O_EXCL | O_NOFOLLOW``), under a
name of its own, and then renamed into place (a rename replaces a link, never
writes through it).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import IO

DEFAULT_MODE = 0o600


def mode_like(store_path: str | os.PathLike[str] | None) -> int:
    """The store file's read/write bits (0600 for an in-memory or missing store)."""
    try:
        return stat.S_IMODE(os.stat(store_path).st_mode) & 0o666 if store_path else DEFAULT_MODE
    except OSError:
        return DEFAULT_MODE


def create_text(path: Path, mode: int = DEFAULT_MODE) -> IO[str]:
    """A new text file at ``path``, opened for writing with exactly ``mode``.

    Whatever is at ``path`` (our own leftover of a killed run, or a planted
    link) is removed first, not followed; if something appears there again
    before the file is created, the creation fails instead of writing through it.
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away: the mode is the store's, exactly
        return os.fdopen(fd, "w", encoding="utf-8", newline="")
    except BaseException:
        os.close(fd)
        raise


def write_text_atomically(target: Path, text: str, mode: int = DEFAULT_MODE) -> None:
    """Write ``target`` whole or not at all: a fresh private name in its folder, then a rename."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
