"""Shared Chargebee fixtures: the fake site built once, a clock tests drive, a provider factory.

The clock is shared by the adapter's budget and the fake server's per-minute
count, so a test runs minutes of traffic without sleeping: a wait for the
budget or a Retry-After only advances the clock.
"""

from __future__ import annotations

import pytest

from connector.demo_chargebee import DEFAULT_KEY, FakeChargebee, build_site
from connector.providers.chargebee import ChargebeeProvider
from connector.providers.chargebee_budget import MinuteBudget
from tests.support.chargebee.clock import FAST_RETRIES, FakeClock


@pytest.fixture(scope="session")
def site():
    return build_site(seed=1, customers=48)


@pytest.fixture(scope="session")
def legacy_site():
    return build_site(seed=2, customers=10, catalog="v1")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def serve(clock):
    """``serve(site, **knobs)`` -> a started FakeChargebee on the test's clock, stopped after the test."""
    started = []

    def start(site, **knobs) -> FakeChargebee:
        server = FakeChargebee(site, now=clock.now, **knobs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def connect(clock):
    """``connect(server, per_minute=..., concurrency=..., key=...)`` -> a ChargebeeProvider on the test's clock."""

    def make(server, *, per_minute: int = 100, concurrency: int = 4, key: str = DEFAULT_KEY,
             catalog_version: str | None = None) -> ChargebeeProvider:
        budget = MinuteBudget(per_minute, concurrency, clock=clock.as_clock())
        return ChargebeeProvider(server.site.name, key, budget=budget, api_base=server.url,
                                 retry_policy=FAST_RETRIES, catalog_version=catalog_version)

    return make
