"""The request scheduler: the account's rate and each endpoint's budget held, the busiest endpoint served first.

The decisions are driven on a fake clock (no timed assertions): requests wait in
their endpoints' queues, the clock moves, and we count who was let through.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from connector.connections import connect_stripe
from connector.config import Settings
from connector.limiter import RateLimiter
from connector.sync import InFlight

LINES = "/v1/invoices/:id/lines"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(limiter: RateLimiter, clock: Clock, waiting: dict[str, int], seconds: float, step: float = 0.01,
        refill: bool = True) -> Counter:
    """Keep ``waiting[endpoint]`` requests queued per endpoint (refilled as served) for ``seconds``."""
    served: Counter = Counter()
    with limiter._lock:   # what acquire holds around its decisions
        for endpoint, n in waiting.items():
            for _ in range(n):
                limiter._enqueue(endpoint)
        for _ in range(round(seconds / step)):
            clock.now += step
            for ticket in limiter._dispatch(clock.now):
                served[ticket.endpoint] += 1
                if refill:
                    limiter._enqueue(ticket.endpoint)
    return served


def test_each_endpoint_stays_within_its_budget_and_the_account_within_its_rate():
    clock = Clock()
    limiter = RateLimiter(100, per_endpoint=25, clock=clock)
    served = run(limiter, clock, {LINES: 50, "/v1/customers": 50, "/v1/charges": 50,
                                  "/v1/invoices": 50, "/v1/subscriptions": 50}, seconds=20)
    # burst (a fifth of a second's worth) + rate × seconds, never more
    assert all(n <= 5 + 25 * 20 for n in served.values()), served
    assert sum(served.values()) <= 20 + 100 * 20
    # and the account is used: the four busiest endpoints fill it
    assert sum(served.values()) >= 0.97 * 100 * 20


def test_an_endpoint_with_its_own_budget_keeps_to_it():
    clock = Clock()
    limiter = RateLimiter(100, per_endpoint=25, endpoint_rates={"/v1/search": 5}, clock=clock)
    served = run(limiter, clock, {"/v1/search": 20, "/v1/customers": 20}, seconds=10)
    assert served["/v1/search"] <= 1 + 5 * 10
    assert served["/v1/search"] >= 0.95 * 5 * 10
    assert limiter.endpoint_rate("/v1/search") == 5 and limiter.endpoint_rate("/v1/customers") == 25


def test_the_busiest_endpoint_gets_its_whole_budget_when_the_account_is_contended():
    # 100/s for the account, 25/s per endpoint, and eight endpoints wanting 25/s each: 200/s of demand.
    # The endpoint with the most work behind its limit (invoice lines) must still run at its limit.
    clock = Clock()
    limiter = RateLimiter(100, per_endpoint=25, clock=clock)
    others = {f"/v1/stream{i}": 6 for i in range(7)}
    served = run(limiter, clock, {LINES: 40, **others}, seconds=30)
    assert served[LINES] >= 25 * 30 - 1, served
    assert sum(served.values()) >= 0.97 * 100 * 30


def test_in_test_mode_the_oldest_request_goes_first_whatever_its_endpoint():
    # 25/s for the account = one endpoint's budget: the account binds, no endpoint bounds the sync.
    # Serving the endpoint with the most work ahead first (invoice lines, 500 announced) kept a
    # slice's next page waiting behind them, and the sync ended on chains of such pages
    # (BENCHMARKS.md, tenth session). The same queues in live mode: the lines go first.
    def order(limiter: RateLimiter) -> list[str]:
        limiter.expect(LINES, 500)
        with limiter._lock:
            for endpoint in ["/v1/charges"] + [LINES] * 3:
                limiter._clock.now += 0.001
                limiter._enqueue(endpoint)
            return [ticket.endpoint for ticket in limiter._dispatch(limiter._clock.now)]   # within the burst

    assert order(RateLimiter(25, per_endpoint=25, clock=Clock())) == ["/v1/charges"] + [LINES] * 3
    assert order(RateLimiter(100, per_endpoint=25, clock=Clock())) == [LINES] * 3 + ["/v1/charges"]


def test_in_test_mode_the_account_is_used_whatever_the_queues():
    clock = Clock()
    limiter = RateLimiter(25, per_endpoint=25, clock=clock)
    served = run(limiter, clock, {LINES: 60, "/v1/customers": 1}, seconds=20)
    assert served[LINES] > served["/v1/customers"] > 0, served
    assert sum(served.values()) >= 0.97 * 25 * 20


def test_without_endpoint_budgets_the_account_rate_alone_holds():
    clock = Clock()
    limiter = RateLimiter(40, clock=clock)
    served = run(limiter, clock, {"/a": 10, "/b": 10}, seconds=10)
    assert 0.97 * 400 <= sum(served.values()) <= 8 + 400
    assert limiter.endpoint_rate("/a") is None


def test_a_429_slows_the_account_then_it_recovers():
    clock = Clock()
    limiter = RateLimiter(100, per_endpoint=25, clock=clock)
    limiter.on_rate_limited()
    assert limiter.rate == pytest.approx(70)
    run(limiter, clock, {"/a": 5}, seconds=0.5)
    assert limiter.rate == pytest.approx(70)   # no increase within a second of the cut
    run(limiter, clock, {"/a": 5}, seconds=30)
    assert limiter.rate == 100


def test_threads_block_until_served_and_every_request_is_let_through_once():
    limiter = RateLimiter(2000, per_endpoint=1000)
    done: Counter = Counter()
    lock = threading.Lock()

    def worker(endpoint: str) -> None:
        for _ in range(50):
            limiter.acquire(endpoint)
            with lock:
                done[endpoint] += 1

    threads = [threading.Thread(target=worker, args=(e,)) for e in ("/a", "/b", "/c") for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert done == {"/a": 200, "/b": 200, "/c": 200} == limiter.granted


def test_the_configured_endpoint_budget_reaches_the_limiter(monkeypatch):
    monkeypatch.setenv("STRIPE_API_KEY", "sk_live_" + "x" * 24)
    settings = Settings(max_requests_per_second=100.0, max_requests_per_second_per_endpoint=20.0,
                        endpoint_limits={LINES: 10.0})
    limiter = connect_stripe(settings).provider.limiter
    assert limiter.endpoint_rate("/v1/customers") == 20 and limiter.endpoint_rate(LINES) == 10


def test_work_announced_ahead_puts_its_endpoint_first_even_with_few_requests_waiting():
    # Seven list streams with many threads waiting; invoice lines with few waiting but 500 announced
    # (the invoices whose lines must be read): lines are the busiest endpoint and get their whole budget.
    clock = Clock()
    limiter = RateLimiter(100, per_endpoint=25, clock=clock)
    limiter.expect(LINES, 500)
    served = run(limiter, clock, {LINES: 3, **{f"/v1/stream{i}": 20 for i in range(7)}}, seconds=10)
    assert served[LINES] >= 25 * 10 - 1, served


def test_endpoint_budgets_bind_in_live_mode_only():
    assert RateLimiter(100, per_endpoint=25).endpoints_bind()
    assert not RateLimiter(25, per_endpoint=25).endpoints_bind()
    assert not RateLimiter(25).endpoints_bind()
    assert RateLimiter(25, per_endpoint=25, endpoint_rates={"/v1/search": 5}).endpoints_bind()


def test_the_limiter_says_how_many_requests_wait_for_an_endpoint():
    clock = Clock()
    limiter = RateLimiter(1, per_endpoint=1, clock=clock)
    assert limiter.waiting("/v1/customers") == 0
    with limiter._lock:
        limiter._enqueue("/v1/customers")
        limiter._enqueue("/v1/customers")
        served = limiter._dispatch(clock.now)   # one token at the start: one served, one left waiting
    assert len(served) == 1
    assert limiter.waiting("/v1/customers") == 1 and limiter.waiting("/v1/charges") == 0


def answered(limiter: RateLimiter, seconds: float, requests: int = 1) -> None:
    """``requests`` requests answered after ``seconds`` each, one after the other, on the limiter's clock."""
    for _ in range(requests):
        key = limiter.request_sent()
        limiter._clock.now += seconds
        limiter.request_answered(key, ok=True)


def test_the_requests_in_flight_follow_the_latency_seen():
    """Little's law: the ceiling needs its rate times the latency in flight (with headroom); the median
    of the recent requests decides, so one slow request does not double the threads."""
    limiter = RateLimiter(25, clock=Clock())
    assert limiter.in_flight_needed() is None            # nothing seen yet: the default stands
    answered(limiter, 0.8, 20)
    assert limiter.in_flight_needed() == 26              # 25/s x 0.8 s x 1.3
    answered(limiter, 30.0)                              # one request stuck for 30 s
    assert limiter.in_flight_needed() == 26
    answered(limiter, 0.2, 64)                           # the server got faster: the window forgets
    assert limiter.in_flight_needed() == 7


def test_before_answers_come_the_requests_still_out_say_how_slow_the_server_is_at_least():
    # At 2 s a request the first answers come after 2 s; the requests in flight must not wait for them.
    clock = Clock()
    limiter = RateLimiter(25, clock=clock)
    assert limiter.latency() is None
    first = limiter.request_sent()
    clock.now += 0.5
    others = [limiter.request_sent() for _ in range(12)]
    clock.now += 1.0
    assert limiter.latency() == 1.5 and limiter.in_flight_needed() == 49   # the oldest: 1.5 s and counting
    limiter.request_answered(first, ok=False)                 # an error: its time says nothing
    assert limiter.latency() == 1.0
    for key in others[:8]:
        limiter.request_answered(key, ok=True)
    clock.now += 5.0                                          # the last four still out, 6 s now
    assert limiter.latency() == 1.0                           # eight answers: their median alone


def test_a_slow_server_gets_more_requests_in_flight_unless_the_sync_is_bound_by_its_own_cpu():
    limiter = RateLimiter(20, clock=Clock())             # test mode: 20 requests/s (a share of Stripe's 25)
    wall, cpu = Clock(), Clock()
    in_flight = InFlight(limiter, 10, clock=wall, cpu_clock=cpu)
    assert in_flight() == 10 and in_flight.most == 60     # the ceiling at 3 s a request

    def second(latency: float, busy: float) -> int:
        answered(limiter, latency, 64)
        wall.now += 1.0
        cpu.now += busy
        return in_flight()

    assert second(2.0, busy=0.1) == 52                   # 20/s x 2 s x 1.3
    assert second(10.0, busy=0.1) == 60                  # at most the ceiling at 3 s a request
    assert second(0.05, busy=0.1) == 10                  # never below the default
    # its own CPU binds (unthrottled, the latency seen is the threads' wait for the CPU): the default
    assert second(2.0, busy=0.9) == 10
    assert second(2.0, busy=0.2) == 52
    wall.now += 0.5
    answered(limiter, 0.05)
    assert in_flight() == 52                             # looked at again once a second


def test_the_connection_sizes_requests_in_flight_by_latency_unless_the_user_set_their_number(monkeypatch):
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_" + "x" * 24)
    conn = connect_stripe(Settings())
    assert conn.workers == 10 and isinstance(conn.in_flight, InFlight) and conn.in_flight.most == 60
    assert conn.in_flight() == 10
    fixed = connect_stripe(Settings(max_in_flight=4))
    assert fixed.workers == 4 and fixed.in_flight is None   # one a user asked for is kept
