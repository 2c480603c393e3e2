"""A clock the Chargebee tests drive, and retries that wait only on it.

The clock is shared by the adapter's budget and the fake server's per-minute
count, so a test runs minutes of traffic without sleeping: a wait for the
budget or a Retry-After only advances the clock.
"""

from __future__ import annotations

import threading

from connector.http import RetryPolicy
from connector.providers.chargebee_budget import Clock


class FakeClock:
    """Monotonic seconds that move only when someone sleeps (or ``advance`` is called)."""

    def __init__(self, start: float = 6_000.0):
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)

    def as_clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep)


# Retries without real waiting: every wait goes through the fake clock.
FAST_RETRIES = RetryPolicy(max_attempts=4, max_seconds=60, initial_wait=0.01, max_wait=120)
