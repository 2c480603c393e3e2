"""Rate limiting and retries, shared by every provider.

* :class:`RateLimiter` — one token bucket per account, plus a cap per endpoint.
  A 429 that arrives anyway halves the rate for a while (multiplicative
  decrease) and the rate climbs back additively, so we settle just under the
  real limit instead of hammering it.
* :func:`call_with_retries` — the one retry policy (tenacity). Providers
  classify each failure *before* it gets here: they raise :class:`Retryable`
  for what may be retried (429, 5xx, resets, timeouts, unparseable bodies,
  ``Stripe-Should-Retry: true``) and a final ``ConnectorError`` for what must
  not be (400/401/403/404, ``Stripe-Should-Retry: false``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from .errors import UpstreamUnavailable

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another attempt; ``kind`` is rate_limited, unavailable or transport."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


class _Bucket:
    """A token bucket; `take` blocks until a token is available."""

    def __init__(self, rate: float, burst: float):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        self._refill(now)
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """Requests per second for one account, with a per-endpoint cap and AIMD on 429.

    Thread-safe: fetcher threads call :meth:`acquire` before every request.
    """

    def __init__(self, rate: float, per_endpoint: float | None = None, burst_seconds: float = 0.2):
        self.ceiling = rate
        self._lock = threading.Lock()
        # A small burst keeps the pipe full without overshooting a server's own bucket.
        self._burst = max(1.0, rate * burst_seconds)
        self._account = _Bucket(rate, self._burst)
        self._per_endpoint = per_endpoint
        self._endpoints: dict[str, _Bucket] = {}
        self._last_decrease = 0.0  # monotonic time of the last 429 cut
        self._last_recover: float | None = None

    @property
    def rate(self) -> float:
        return self._account.rate

    def acquire(self, endpoint: str) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._recover(now)
                buckets = [self._account]
                if self._per_endpoint:
                    bucket = self._endpoints.get(endpoint)
                    if bucket is None:
                        cap = min(self._per_endpoint, self._account.rate)
                        bucket = self._endpoints[endpoint] = _Bucket(cap, max(1.0, cap * 0.2))
                    buckets.append(bucket)
                delay = max(b.wait_time(now) for b in buckets)
                if delay == 0:
                    for b in buckets:
                        b.tokens -= 1
                    return
            time.sleep(delay)

    def on_rate_limited(self) -> None:
        """Multiplicative decrease: a 429 means the shared ceiling is lower than we thought."""
        with self._lock:
            now = time.monotonic()
            self._account._refill(now)
            self._account.rate = max(1.0, self._account.rate * 0.7)
            self._account.tokens = min(self._account.tokens, 0.0)
            self._last_decrease = now

    def _recover(self, now: float) -> None:
        """Additive increase back towards the configured ceiling, about 1 req/s per second."""
        if self._account.rate >= self.ceiling:
            return
        last = self._last_recover if self._last_recover is not None else now
        self._last_recover = now
        if now - self._last_decrease < 1.0:
            return
        self._account._refill(now)
        self._account.rate = min(self.ceiling, self._account.rate + (now - last) * max(1.0, self.ceiling / 20))


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    max_seconds: float = 300.0
    initial_wait: float = 0.5
    max_wait: float = 30.0


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    jitter = tenacity.wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            # The server said when; a little jitter keeps parallel callers apart.
            return max(0.0, min(policy.max_wait, exc.retry_after)) + jitter(state) * 0.1
        return jitter(state)

    return wait


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    on_retry: Callable[[Retryable], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it succeeds, retrying only :class:`Retryable` failures.

    Bounded by ``policy.max_attempts`` and ``policy.max_seconds``. When the budget
    runs out, raises UpstreamUnavailable naming ``what`` and the last failure.
    Any other exception (a final ConnectorError) propagates at once.
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(exc, Retryable):
            on_retry(exc)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Retryable),
        wait=_wait(policy),
        stop=tenacity.stop_after_attempt(policy.max_attempts) | tenacity.stop_after_delay(policy.max_seconds),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except Retryable as exc:
        if exc.kind == "rate_limited":
            raise UpstreamUnavailable(
                f"rate limited on {what} after {policy.max_attempts} attempts: lower "
                "max_requests_per_second or run again later (nothing after the last committed page was written)"
            ) from None
        raise UpstreamUnavailable(
            f"provider unavailable on {what} ({exc.detail}) after retries: run again later; "
            "the sync resumes from its last committed page"
        ) from None
