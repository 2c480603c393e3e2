"""Progress of a long sync on stderr: one updating line of counters per stream.

Shown only when stderr is a terminal and not --quiet; cron logs stay clean.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, enabled: bool, stream: TextIO | None = None, interval: float = 0.25):
        self.enabled = enabled
        self.out = stream or sys.stderr
        self.interval = interval
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._last = 0.0
        self._started = time.monotonic()

    @classmethod
    def for_terminal(cls, quiet: bool) -> Progress:
        return cls(enabled=not quiet and sys.stderr.isatty())

    def advance(self, stream: str, n: int) -> None:
        with self._lock:
            self.counts[stream] = self.counts.get(stream, 0) + n
            if not self.enabled:
                return
            now = time.monotonic()
            if now - self._last >= self.interval:
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        parts = " · ".join(f"{name} {count:,}" for name, count in self.counts.items())
        total = sum(self.counts.values())
        rate = total / max(0.001, now - self._started)
        self.out.write(f"\r\033[K{parts}  ({rate:,.0f} objects/s)")
        self.out.flush()

    def close(self) -> None:
        if self.enabled and self.counts:
            self.out.write("\r\033[K")
            self.out.flush()
