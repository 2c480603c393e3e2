"""A crash inside the MRR refresh that ends a sync: the next sync must still bring MRR up to date.

``refresh_after_sync`` commits in three steps — the neutral mapping (with its
``mapping_seq`` watermark), the segments, the MRR facts. The fault campaign found
syncs killed between those steps whose reruns left the ``mrr_*`` tables empty.
These tests crash each step boundary in process, deterministically, then run the
refresh again as the next sync would, and compare with a store that never crashed.
"""

from __future__ import annotations

import pytest

import connector.mrr.engine as engine
import connector.refresh as refresh
import connector.mrr.segments as segments
from tests.support import store_checks
from connector.http import RateLimiter
from connector.mrr.policy import load_policy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.demo import server as demo_server
from tests.support.keys import CANARY_KEY


class InjectedCrash(Exception):
    pass


def synced_store(url, path):
    provider = StripeProvider(CANARY_KEY, api_base=url, limiter=RateLimiter(1000))
    store = open_store(path)
    store.bind_account(provider.identify())
    report = run_sync(store, provider, streams=list(provider.streams), workers=4)
    assert report.failures == {}
    return store


def mrr_rows(path):
    return {name: rows for name, rows in store_checks.snapshot(path).items() if name.startswith(("mrr_", "billing_"))}


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    work = tmp_path_factory.mktemp("mrr-crash")
    with demo_server.DemoServer(seed=5, customers=12) as server:
        clean = synced_store(server.url, work / "clean.db")
        refresh.refresh_after_sync(clean, load_policy("default"))
        clean.close()
        yield server, work, mrr_rows(work / "clean.db")


def crash_once(monkeypatch, module, name):
    original = getattr(module, name)
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise InjectedCrash(f"crash before {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, crashing)


def test_crash_between_mapping_and_segments_then_next_refresh_catches_up(account, monkeypatch):
    server, work, expected = account
    store = synced_store(server.url, work / "crash-segments.db")
    crash_once(monkeypatch, segments, "build_segments")
    with pytest.raises(InjectedCrash):
        refresh.refresh_after_sync(store, load_policy("default"))
    refresh.refresh_after_sync(store, load_policy("default"))
    store.close()
    assert mrr_rows(work / "crash-segments.db") == expected


def test_crash_between_segments_and_facts_then_next_refresh_catches_up(account, monkeypatch):
    server, work, expected = account
    store = synced_store(server.url, work / "crash-facts.db")
    crash_once(monkeypatch, engine, "update")
    with pytest.raises(InjectedCrash):
        refresh.refresh_after_sync(store, load_policy("default"))
    refresh.refresh_after_sync(store, load_policy("default"))
    store.close()
    assert mrr_rows(work / "crash-facts.db") == expected
