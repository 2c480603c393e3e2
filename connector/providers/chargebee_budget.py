"""A request budget for one Chargebee site that is never exceeded.

Chargebee counts requests per site per minute (150 on Starter plans and on
every test site, 1,000 on Performance, 3,500 on Enterprise) and caps concurrent
requests; a live site that keeps exceeding them gets flagged. So, unlike the
Stripe limiter (which may probe and back off on 429), this budget is a hard
ceiling decided before any request is sent:

* at most ``per_minute`` request starts in ANY 60-second window (a sliding
  window, so every fixed minute the server may count is within it too);
* at most ``concurrency`` requests in flight;
* after a 429, no request at all until its ``Retry-After`` has passed.

``per_minute`` defaults to a share of the plan's limit, so the merchant's own
integrations keep headroom. Time comes from an injectable clock so tests can
run minutes of traffic without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ConfigError

WINDOW_SECONDS = 60.0
# The longest Retry-After obeyed: five windows (a per-minute count clears in one; more is a hostile or broken server).
MAX_RETRY_AFTER_SECONDS = 5 * WINDOW_SECONDS

# Requests per site per minute, by Chargebee plan. Every test site is on the Starter limit.
PLAN_LIMITS = {"starter": 150, "performance": 1000, "enterprise": 3500}
DEFAULT_SHARE = 0.5        # of the plan's limit: the rest stays with the merchant's own traffic
DEFAULT_CONCURRENCY = 4


@dataclass
class Clock:
    """Monotonic seconds and a sleep; tests pass a clock whose sleep only advances time."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def budget_for(plan: str, share: float = DEFAULT_SHARE, per_minute: int | None = None) -> int:
    """Requests per minute for ``plan`` (starter, performance, enterprise) at ``share`` of its limit.

    ``per_minute`` overrides the share but may not exceed the plan's limit.
    Raises ConfigError naming the bad value.
    """
    limit = PLAN_LIMITS.get(plan)
    if limit is None:
        raise ConfigError(f"unknown Chargebee plan {plan!r}: use one of {', '.join(PLAN_LIMITS)}")
    if per_minute is not None:
        if not 1 <= per_minute <= limit:
            raise ConfigError(
                f"Chargebee requests per minute {per_minute} is outside 1..{limit} (the {plan} plan's limit)"
            )
        return per_minute
    if not 0 < share <= 1:
        raise ConfigError(f"Chargebee rate share {share} must be in (0, 1]")
    return max(1, int(limit * share))


class MinuteBudget:
    """Blocks callers so that request starts never exceed the budget. Thread-safe."""

    def __init__(self, per_minute: int, concurrency: int = DEFAULT_CONCURRENCY, clock: Clock | None = None):
        if per_minute < 1 or concurrency < 1:
            raise ConfigError("a Chargebee budget needs at least 1 request per minute and 1 in flight")
        self.per_minute = per_minute
        self.concurrency = concurrency
        self.clock = clock or Clock()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._starts: deque[float] = deque()   # request start times inside the current window
        self._blocked_until = 0.0              # from the last Retry-After
        self.waited_seconds = 0.0              # time spent waiting for the budget (reported)

    def _delay(self, now: float) -> float:
        # `start + window <= now`, the form a server counting windows uses: `now - window` can round
        # the other way and let a request in one float step early.
        while self._starts and self._starts[0] + WINDOW_SECONDS <= now:
            self._starts.popleft()
        delay = max(0.0, self._blocked_until - now)
        if len(self._starts) >= self.per_minute:
            delay = max(delay, self._starts[0] + WINDOW_SECONDS - now)
        return delay

    def _take(self) -> None:
        while True:
            with self._lock:
                now = self.clock.now()
                delay = self._delay(now)
                if delay <= 0:
                    self._starts.append(now)
                    return
                self.waited_seconds += delay
            self.clock.sleep(delay)

    @contextmanager
    def request(self) -> Iterator[None]:
        """Hold one concurrency slot and one request start for the body of the ``with``."""
        with self._slots:
            self._take()
            yield

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429 arrived anyway (other traffic on the site): stop until the server's deadline.

        Without a ``Retry-After`` the whole window is waited out, the one delay
        that is certain to clear a per-minute count; the server's value is honoured up
        to MAX_RETRY_AFTER_SECONDS (a hostile one must not stop the run for hours).
        """
        wait = WINDOW_SECONDS if retry_after is None else min(MAX_RETRY_AFTER_SECONDS, max(0.0, retry_after))
        with self._lock:
            self._blocked_until = max(self._blocked_until, self.clock.now() + wait)
