"""A folder on a filesystem of a chosen size, so a disk can fill for real (ENOSPC from the kernel).

A tmpfs mounted over the folder: writes past its size fail with "No space left on device",
exactly as on a full disk, and growing it (a remount) is the operator freeing space, with
every file written so far still there. Mounting needs root (CAP_SYS_ADMIN); where it is not
allowed, :func:`small_disks_available` says so and the fault is not drawn.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

PAGE = 4096  # tmpfs sizes are whole pages


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@functools.lru_cache(maxsize=1)
def small_disks_available() -> bool:
    """True if this process may mount a tmpfs (tried once, on a throwaway folder)."""
    if os.name != "posix" or os.geteuid() != 0:
        return False
    probe = Path(tempfile.mkdtemp(prefix="small-disk-probe-"))
    try:
        _mount("-t", "tmpfs", "-o", f"size={PAGE},mode=0700", "tmpfs", str(probe))
    except (OSError, subprocess.SubprocessError):
        return False
    else:
        subprocess.run(["umount", str(probe)], check=True, capture_output=True, timeout=30)
        return True
    finally:
        probe.rmdir()


class SmallDisk:
    """``with SmallDisk(folder, size): ...`` — the folder holds at most ``size`` bytes until grown."""

    def __init__(self, folder: Path, size: int):
        self.folder = folder
        self.size = max(PAGE, size - size % PAGE)
        self._mounted = False

    def __enter__(self) -> "SmallDisk":
        self.folder.mkdir(parents=True, exist_ok=True)
        _mount("-t", "tmpfs", "-o", f"size={self.size},mode=0700", "tmpfs", str(self.folder))
        self._mounted = True
        return self

    def grow(self, size: int) -> None:
        """Free space: the same filesystem, its files kept, ``size`` bytes in all."""
        self.size = size
        _mount("-o", f"remount,size={size}", str(self.folder))

    def __exit__(self, *exc_info) -> None:
        if self._mounted:
            # lazy: a file another process still holds open must not keep the mount (and the test) alive
            subprocess.run(["umount", "-l", str(self.folder)], check=True, capture_output=True, timeout=30)
            self._mounted = False
