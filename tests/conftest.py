"""Fixtures every test directory can use (helpers live in tests/support)."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from connector.store import open_store
from tests.support.cli import run_cli
from tests.support.demo import DEMO_CUSTOMERS
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


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """The store `billing-connector demo --format json` writes (DEMO_CUSTOMERS customers, MRR
    computed), built once per test process, with its report (r.html) and its JSON (demo.json)
    beside it. Read them in place; copy the store (tests.support.demo.copy_store) to change it."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.db"
    result = run_cli(["demo", "--customers", str(DEMO_CUSTOMERS), "--db", str(db), "--report", str(folder / "r.html"),
                      "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (folder / "demo.json").write_text(result.stdout)
    return db


@pytest.fixture
def canary_env(monkeypatch):
    monkeypatch.setenv("STRIPE_API_KEY", CANARY_KEY)
    return CANARY_KEY


def pytest_collection_modifyitems(config, items):
    """Modules holding a ``slow`` test run first; the order is kept otherwise.

    `make test` hands whole modules to its workers in collection order (``--dist loadscope
    --no-loadscope-reorder``, pyproject.toml): started first, the long modules run side by side
    while the short ones fill in around them, instead of one worker finishing a long module alone.
    """
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow)   # stable: modules stay whole


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
