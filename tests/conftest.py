"""Shared test fixtures.

CANARY_KEY is the API key every test that needs one uses; tests assert it never
appears in output, logs, exceptions, the store or exports.
"""

from __future__ import annotations

import pytest

from connector.store import open_store

CANARY_KEY = "sk_test_CANARY0secret0never0printed0x9Zq"


@pytest.fixture
def store():
    s = open_store(None)
    yield s
    s.close()


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

    helpers = sys.modules.get("tests.export.helpers")
    if helpers is not None and helpers._FILE_READER is not None:
        helpers._FILE_READER.close()
        helpers._FILE_READER = None  # closing is not enough: the object itself must go
    gc.collect()
