"""Fixtures every test directory can use (helpers live in tests/support)."""

from __future__ import annotations

import pytest
import responses

from connector.store import open_store
from tests.support.keys import CANARY_KEY


@pytest.fixture
def store():
    s = open_store(None)
    yield s
    s.close()


@pytest.fixture
def rsps():
    """`responses` intercepting every request of the test (install a FakeStripe on it)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def canary_env(monkeypatch):
    monkeypatch.setenv("STRIPE_API_KEY", CANARY_KEY)
    return CANARY_KEY


def pytest_sessionfinish(session, exitstatus):
    """Free duckdb's native objects before the interpreter exits.

    Otherwise its bindings print "nanobind: leaked ..." after pytest's summary,
    and the summary must stay the last thing a test run prints.
    """
    import gc
    import sys

    helpers = sys.modules.get("tests.support.export_store")
    if helpers is not None and helpers._FILE_READER is not None:
        helpers._FILE_READER.close()
        helpers._FILE_READER = None  # closing is not enough: the object itself must go
    gc.collect()
