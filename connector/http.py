"""Rate limiting and retries, shared by every provider.

* :class:`RateLimiter` (``limiter.py``) — the account's rate, a budget per
  endpoint, the busiest endpoint served first, AIMD on a 429.
* :class:`RequestTally` — requests made per endpoint (what a run read).
* :func:`call_with_retries` — the one retry policy (tenacity). Providers
  classify each failure *before* it gets here: they raise :class:`Retryable`
  for what may be retried (429, 5xx, resets, timeouts, unparseable bodies,
  ``Stripe-Should-Retry: true``) and a final ``ConnectorError`` for what must
  not be (400/401/403/404, ``Stripe-Should-Retry: false``).
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from .errors import UpstreamUnavailable
from .limiter import RateLimiter

__all__ = ["RateLimiter", "RequestTally", "Retryable", "RetryPolicy", "call_with_retries", "header_value", "retry_after_from", "retry_after_seconds"]

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another attempt; ``kind`` is rate_limited, unavailable or transport."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (RFC 9110).

    Anything else — negative, nan, infinite, garbage — is None (our own
    backoff applies); a date in the past is 0. The caller caps large values.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        try:
            seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
        except (OverflowError, OSError, ValueError):
            return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def header_value(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A response header's value by its name in any case (a plain dict included), or None."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def retry_after_from(headers: Mapping[str, str] | None) -> float | None:
    """The response's ``Retry-After`` in seconds (:func:`retry_after_seconds`), or None."""
    return retry_after_seconds(header_value(headers, "Retry-After"))


class RequestTally:
    """Requests made, per endpoint (the provider's name for a route); thread-safe.

    What a run read, for the sync summary and ``status``: Stripe also allocates
    read requests to an account over time, so a nightly sync says how small it stayed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_endpoint: dict[str, int] = {}

    def count(self, endpoint: str) -> None:
        with self._lock:
            self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_endpoint.values())

    def snapshot(self) -> dict[str, int]:
        """Requests per endpoint, busiest first (ties by name)."""
        with self._lock:
            return dict(sorted(self.by_endpoint.items(), key=lambda item: (-item[1], item[0])))


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
