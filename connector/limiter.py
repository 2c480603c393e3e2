"""The request scheduler: who sends the next request, within the account's and each endpoint's limit.

Stripe limits an account (100 requests/s live, 25 in test mode) *and* each
endpoint (25/s unless documented otherwise; every ``GET /v1/invoices/{id}/lines``
counts as one endpoint). A full sync is then as short as the larger of two
bounds: all its requests at the account's rate, or the busiest endpoint's
requests at that endpoint's rate. Reaching the second bound means keeping the
busiest endpoint at its limit from the first second to the last, whatever the
other streams want.

So requests do not race for tokens. Each waits in its endpoint's queue; when the
account has a token, it goes to the endpoint with the most work ahead *in
seconds of its own limit* — requests waiting plus requests announced
(:meth:`RateLimiter.expect`: the sync knows, say, which invoices need their
lines read before a thread asks), ÷ the endpoint's rate, plus how long its
oldest request has waited, so no endpoint starves — among the endpoints whose
own bucket has a token. The endpoint with the most work behind its limit is
served first and kept at its limit; the others share what the account has left.

Where no endpoint's budget is below the account's (test mode: 25/s for both),
the account binds and no endpoint bounds the sync: there the oldest request goes
first, whatever its endpoint. Serving the endpoint with the most work ahead
there kept a slice's next page waiting behind hundreds of announced line reads,
and a slow server's sync ended on the chains of such pages.

Only the oldest request of each endpoint keeps time (sleeps until a token could
be there); the others sleep until they are served or become the oldest: a few
timed waits, not one per thread.

A 429 that comes anyway cuts the account's rate (multiplicative decrease); the
rate climbs back additively, so the sync settles just under the real limit.

And the ceiling is only reached with enough requests in flight: its rate times
how long a request takes (Little's law). The limiter keeps the recent requests'
latency (:meth:`RateLimiter.request_sent`, :meth:`RateLimiter.request_answered`)
and says how many that makes (:meth:`RateLimiter.in_flight_needed`): a server
slower than assumed is met with more requests in flight, not a lower rate.
"""

from __future__ import annotations

import itertools
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

# The shortest timed wait: below it a waiter would spin on a token that is a rounding error away.
_MIN_WAIT = 0.0005
# Requests whose latency sizes the requests in flight: the median of the last ones (one slow request
# alone does not double the threads), once a few have come back.
_LATENCY_WINDOW = 64
_LATENCY_SAMPLES_FIRST = 8
# In flight beyond rate x latency: latency varies from request to request, and a request waits for
# its turn at the limiter before it is sent.
_IN_FLIGHT_HEADROOM = 1.3


class _Bucket:
    """A token bucket refilled from the limiter's clock."""

    def __init__(self, rate: float, burst: float, now: float):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until a token is there (after ``refill``)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class _Ticket:
    """One request waiting for its turn."""

    __slots__ = ("endpoint", "since", "granted", "wakeup")

    def __init__(self, endpoint: str, since: float, wakeup: threading.Condition):
        self.endpoint = endpoint
        self.since = since
        self.granted = False
        self.wakeup = wakeup


class RateLimiter:
    """Requests per second for one account, a budget per endpoint, busiest endpoint first, AIMD on 429.

    ``per_endpoint``: every endpoint's rate unless ``endpoint_rates`` names its own
    (None: endpoints are limited by the account alone). Thread-safe: fetcher threads
    call :meth:`acquire` before every request.
    """

    def __init__(self, rate: float, per_endpoint: float | None = None, burst_seconds: float = 0.2,
                 endpoint_rates: Mapping[str, float] | None = None, clock: Callable[[], float] = time.monotonic):
        self.ceiling = rate
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        # A small burst keeps the pipe full without overshooting a server's own bucket.
        self._account = _Bucket(rate, max(1.0, rate * burst_seconds), now)
        self._per_endpoint = per_endpoint
        self._endpoint_rates = dict(endpoint_rates or {})
        self._endpoints: dict[str, _Bucket | None] = {}
        self._queues: dict[str, deque[_Ticket]] = {}
        self._expected: dict[str, int] = {}   # requests announced and not yet asked for, per endpoint
        self._last_decrease = float("-inf")  # clock time of the last 429 cut
        self._last_recover: float | None = None
        self.granted: dict[str, int] = {}  # requests let through, per endpoint
        self._latencies: deque[float] = deque(maxlen=_LATENCY_WINDOW)   # seconds, the last requests'
        self._outstanding: dict[int, float] = {}   # requests sent and not answered: clock time sent
        self._sent_keys = itertools.count()
        # the endpoint with the most work ahead first only where an endpoint's budget can bind
        # (live mode); else the oldest request first (the module's docstring)
        self._by_backlog = self.endpoints_bind()

    @property
    def rate(self) -> float:
        return self._account.rate

    def endpoint_rate(self, endpoint: str) -> float | None:
        """The endpoint's own budget (never above the account's ceiling), or None when it has none."""
        rate = self._endpoint_rates.get(endpoint, self._per_endpoint)
        return min(rate, self.ceiling) if rate else None

    def expect(self, endpoint: str, requests: int = 1) -> None:
        """Announce requests the endpoint will be asked for (work already known to be ahead)."""
        with self._lock:
            self._expected[endpoint] = self._expected.get(endpoint, 0) + requests

    def waiting(self, endpoint: str) -> int:
        """Requests waiting for the endpoint's turn now: more than none says it is kept at its limit
        (or the account at its own), so more requests in flight for it would only wait too."""
        with self._lock:
            return len(self._queues.get(endpoint) or ())

    def endpoints_bind(self) -> bool:
        """Whether an endpoint's budget is below the account's rate (live mode): then the busiest
        endpoint, not the account, may bound a sync, and its work must start early."""
        rates = [r for r in (self._per_endpoint, *self._endpoint_rates.values()) if r]
        return bool(rates) and min(rates) < self.ceiling

    def request_sent(self) -> int:
        """A request leaves now (after its token); the key to hand to :meth:`request_answered`."""
        with self._lock:
            key = next(self._sent_keys)
            self._outstanding[key] = self._clock()
            return key

    def request_answered(self, key: int, *, ok: bool) -> None:
        """The request ``key`` came back; ``ok``: with a success, whose time on the network and at the
        server counts as a latency seen (an error's or a cut connection's says nothing of its pace)."""
        with self._lock:
            sent = self._outstanding.pop(key, None)
            if ok and sent is not None:
                self._latencies.append(self._clock() - sent)

    def latency(self) -> float | None:
        """The recent requests' typical latency in seconds (their median; None: nothing seen yet).

        Until a few have come back, the longest a request still out has taken counts too: it is at
        least that slow. On a server taking 2 s a request, the first answers come after 2 s, and the
        requests in flight sized for 0.5 s held the sync at a quarter of its limit until then."""
        with self._lock:
            if len(self._latencies) >= _LATENCY_SAMPLES_FIRST:
                return statistics.median(self._latencies)
            oldest = next(iter(self._outstanding.values()), None)   # sent first (a dict keeps that order)
            bounds = [self._clock() - oldest] if oldest is not None else []
            if self._latencies:
                bounds.append(statistics.median(self._latencies))
            return max(bounds) if bounds else None

    def in_flight_needed(self) -> int | None:
        """Requests in flight that keep the ceiling at the latency seen lately (None: no request seen yet)."""
        return self._in_flight_at(self.ceiling)

    def endpoint_in_flight_needed(self, endpoint: str) -> int | None:
        """Requests in flight that keep ``endpoint`` at its own budget (the account's where it has none)
        at the latency seen lately (None: no request seen yet). A list read in slices sends one
        request per slice at a time: more slices than this only wait for the endpoint's turn."""
        return self._in_flight_at(self.endpoint_rate(endpoint) or self.ceiling)

    def _in_flight_at(self, rate: float) -> int | None:
        """Requests in flight that keep ``rate`` going at the latency seen (Little's law, with headroom)."""
        latency = self.latency()
        return None if latency is None else math.ceil(rate * latency * _IN_FLIGHT_HEADROOM)

    # ---- the blocking call ----------------------------------------------------
    def acquire(self, endpoint: str) -> None:
        """Wait for this endpoint's turn and take one token of the account and one of the endpoint."""
        with self._lock:
            ticket = self._enqueue(endpoint)
            while True:
                now = self._clock()
                self._dispatch(now)
                if ticket.granted:
                    return
                if self._queues[endpoint][0] is ticket:
                    ticket.wakeup.wait(max(_MIN_WAIT, self._delay(endpoint)))
                else:
                    ticket.wakeup.wait()   # served, or the oldest of its endpoint, by whoever dispatches

    # ---- the decisions (under the lock; the tests drive them on a fake clock) ------
    def _enqueue(self, endpoint: str) -> _Ticket:
        ticket = _Ticket(endpoint, self._clock(), threading.Condition(self._lock))
        self._queues.setdefault(endpoint, deque()).append(ticket)
        if self._expected.get(endpoint):
            self._expected[endpoint] -= 1   # an announced request has come
        return ticket

    def _bucket(self, endpoint: str, now: float) -> _Bucket | None:
        if endpoint not in self._endpoints:
            rate = self.endpoint_rate(endpoint)
            self._endpoints[endpoint] = _Bucket(rate, max(1.0, rate * 0.2), now) if rate else None
        bucket = self._endpoints[endpoint]
        if bucket is not None:
            bucket.refill(now)
        return bucket

    def _dispatch(self, now: float) -> list[_Ticket]:
        """Hand out every token there is now, busiest endpoint first; the tickets served."""
        self._recover(now)
        self._account.refill(now)
        served = []
        while self._account.tokens >= 1:
            best, best_backlog = None, -1.0
            for endpoint, queue in self._queues.items():
                if not queue:
                    continue
                bucket = self._bucket(endpoint, now)
                if bucket is not None and bucket.tokens < 1:
                    continue
                backlog = now - queue[0].since
                if self._by_backlog:
                    rate = bucket.rate if bucket is not None else self._account.rate
                    backlog += (len(queue) + self._expected.get(endpoint, 0)) / rate
                if backlog > best_backlog:
                    best, best_backlog = endpoint, backlog
            if best is None:
                break
            queue = self._queues[best]
            ticket = queue.popleft()
            self._account.tokens -= 1
            bucket = self._endpoints[best]
            if bucket is not None:
                bucket.tokens -= 1
            self.granted[best] = self.granted.get(best, 0) + 1
            ticket.granted = True
            ticket.wakeup.notify()
            if queue:
                queue[0].wakeup.notify()   # the next one keeps time for the endpoint now
            served.append(ticket)
        return served

    def _delay(self, endpoint: str) -> float:
        """Seconds until this endpoint could be served: both its bucket and the account hold a token."""
        bucket = self._endpoints.get(endpoint)
        delay = self._account.wait_time()
        if bucket is not None:
            delay = max(delay, bucket.wait_time())
        return delay

    # ---- 429s ----------------------------------------------------------------
    def on_rate_limited(self) -> None:
        """Multiplicative decrease: a 429 means the shared ceiling is lower than we thought."""
        with self._lock:
            now = self._clock()
            self._account.refill(now)
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
        self._account.refill(now)
        self._account.rate = min(self.ceiling, self._account.rate + (now - last) * max(1.0, self.ceiling / 20))

