"""The per-minute budget is never exceeded; a 429 that comes anyway is honoured, never probed past.

Every test runs on the fake clock shared by the budget and the fake server:
minutes of traffic, no real waiting. The fake counts the requests that arrive
in each minute window, as Chargebee counts them.
"""

from __future__ import annotations

import json
import threading

import pytest

from connector.errors import ConfigError, UpstreamUnavailable
from connector.providers.chargebee_budget import PLAN_LIMITS, MinuteBudget, budget_for
from tests.support.chargebee.clock import FakeClock


def _read(provider, stream):
    return sum(len(page.objects) for page in provider.iter_pages(stream))


def test_a_budget_below_the_sites_limit_never_meets_a_429(site, serve, connect, clock):
    server = serve(site, per_minute=10)
    provider = connect(server, per_minute=5)
    total = _read(provider, "events") + _read(provider, "invoices") + _read(provider, "transactions")
    assert total == sum(len(site.objects[s]) for s in ("events", "invoices", "transactions"))
    assert server.stats.total == provider.requests_made == 18   # three minutes' worth at 5 a minute
    assert server.stats.rate_limited == 0
    assert max(server.stats.windows.values()) <= 5
    assert len(server.stats.windows) >= 4 and provider.budget.waited_seconds > 0


def test_any_sixty_seconds_hold_at_most_the_budget():
    clock = FakeClock(start=0.0)
    budget = MinuteBudget(per_minute=5, concurrency=1, clock=clock.as_clock())
    starts = []
    for _ in range(17):
        with budget.request():
            starts.append(clock.now())
        clock.advance(7)   # requests spread out: the sliding window, not a fixed minute, decides
    for i, start in enumerate(starts):
        assert sum(1 for s in starts if start <= s < start + 60) <= 5, (i, starts)
    assert starts[5] == starts[0] + 60


def test_a_429_with_retry_after_is_honoured(site, serve, connect, clock):
    # The site allows fewer requests than our budget thinks (other integrations use the rest).
    server = serve(site, per_minute=3)
    provider = connect(server, per_minute=100)
    assert _read(provider, "events") == len(site.objects["events"])
    assert server.stats.rate_limited >= 1
    # After a 429 nothing is sent before the minute the server named is over: each 429 is
    # followed by requests in the next window only, so no window sees two 429s.
    limited_windows = [w for w, n in server.stats.windows.items() if n > 3]
    assert limited_windows and all(server.stats.windows[w] == 4 for w in limited_windows)
    assert provider.rate_limited == server.stats.rate_limited


def test_retry_after_blocks_every_caller_until_it_passes():
    clock = FakeClock(start=100.0)
    budget = MinuteBudget(per_minute=1000, concurrency=2, clock=clock.as_clock())
    budget.on_rate_limited(17)
    with budget.request():
        assert clock.now() == 117.0
    budget.on_rate_limited(None)     # no Retry-After: the whole window
    with budget.request():
        assert clock.now() == 177.0


def test_concurrency_cap_holds_at_the_server(site, serve, connect):
    server = serve(site, per_minute=1000)
    provider = connect(server, per_minute=1000, concurrency=2)
    streams = ["customers", "subscriptions", "invoices", "transactions", "events", "coupons"]
    errors = []

    def read(stream):
        try:
            _read(provider, stream)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(s,)) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert server.stats.max_in_flight <= 2
    assert server.stats.rate_limited == 0


def test_rate_limited_beyond_the_retry_budget_is_one_line(site, serve, connect):
    from connector.demo_chargebee import Fault

    server = serve(site)
    server.faults.append(Fault("/customers", status=429, times=10, retry_after=5))
    provider = connect(server)
    with pytest.raises(UpstreamUnavailable) as err:
        provider.list_page("customers", page_token=None, updated_since=None)
    assert str(err.value) == (
        "Chargebee kept answering 429 on GET /customers after 4 attempts: other integrations share the site's "
        "per-minute limit; lower the Chargebee requests per minute or run again later"
    )
    assert server.stats.total == 4


@pytest.mark.parametrize("plan, share, per_minute, expected", [
    ("starter", 0.5, None, 75), ("performance", 0.5, None, 500), ("enterprise", 0.8, None, 2800),
    ("starter", 0.5, 150, 150), ("enterprise", 0.5, 1200, 1200),
])
def test_budget_for_plans(plan, share, per_minute, expected):
    assert budget_for(plan, share, per_minute) == expected


def test_budget_refuses_more_than_the_plan_allows():
    with pytest.raises(ConfigError) as err:
        budget_for("starter", per_minute=151)
    assert str(err.value) == "Chargebee requests per minute 151 is outside 1..150 (the starter plan's limit)"
    with pytest.raises(ConfigError) as err:
        budget_for("gold")
    assert str(err.value) == "unknown Chargebee plan 'gold': use one of " + ", ".join(PLAN_LIMITS)



def test_the_fake_answers_429_over_its_concurrency_cap(site, serve):
    import base64

    server = serve(site, per_minute=1000, concurrency=1)
    auth = "Basic " + base64.b64encode(b"test_fakekey_chargebee:").decode()
    server.stats.in_flight = 1       # one request already being answered
    status, headers, body = server.answer("/api/v2/customers", {}, auth)
    assert (status, json.loads(body)["api_error_code"]) == (429, "api_request_limit_exceeded")
    assert 1 <= int(headers["Retry-After"]) <= 60
    server.stats.in_flight = 0
    assert server.answer("/api/v2/customers", {}, auth)[0] == 200
