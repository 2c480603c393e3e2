"""Shared demo fixtures: one default-sized account and one server over it, built once.

Tests that change the account (mutations, clock) build their own small server.
"""

from __future__ import annotations

import pytest

from connector.demo import DemoAccount, DemoServer
from tests.support.demo import NOW


@pytest.fixture(scope="session")
def account() -> DemoAccount:
    return DemoAccount(seed=1, customers=300, now=NOW)


@pytest.fixture(scope="session")
def server(account):
    with DemoServer(account) as running:
        yield running


@pytest.fixture
def quiet_server(server):
    """The shared server with knobs and counters back at rest after the test."""
    server.configure(latency_ms=0, latency_jitter_ms=0, rate_limit=None, per_endpoint_rate_limit=None,
                     retry_after=None, faults={}, rules=[], forbidden_streams=[])
    server.reset_stats()
    yield server
    server.configure(latency_ms=0, latency_jitter_ms=0, rate_limit=None, per_endpoint_rate_limit=None,
                     retry_after=None, faults={}, rules=[], forbidden_streams=[])
