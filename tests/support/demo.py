"""The demo as tests use it: a fixed clock, a test key, an SDK client, and copies of its store.

The demo's store itself is built once per test process by the ``demo_store``
fixture (tests/conftest.py); ``copy_store`` gives a test its own copy to change.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import stripe

NOW = 1_793_491_200  # 2026-11-01 00:00 UTC: a fixed anchor so every figure is reproducible
TEST_KEY = "sk_test_demo0key0for0tests0only0abcd"


def sdk_client(url: str, key: str = TEST_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(api_key=key, base_addresses={"api": url}, max_network_retries=0)


# A small account is enough for what reads do with a store; the README's own walk-through
# (tests/cli/test_readme_newcomer.py) builds the full default demo, as `make demo` does.
DEMO_CUSTOMERS = 20


def copy_store(source: Path, folder: Path, name: str = "demo.db") -> Path:
    """A consistent copy of the store at ``source`` as ``folder/name`` (SQLite's backup: WAL included)."""
    target = folder / name
    with sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True) as reader, sqlite3.connect(target) as writer:
        reader.backup(writer)
    reader.close()
    writer.close()
    return target
