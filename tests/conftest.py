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
