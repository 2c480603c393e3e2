"""A key without Events read access: syncs re-read in full, with one warning saying what it costs.

``events`` is a stream name like the others (``--streams``, ``auth``, ``doctor``).
"""

from __future__ import annotations

import json
import logging

import pytest
import responses

from connector.errors import EXIT_OK, EXIT_PERMISSION
from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import resolve_streams, run_sync
from tests.support.keys import CANARY_KEY

from tests.support.fakestripe import BASE, small_account
from tests.support.cli import run_cli

START = 1_700_000_000
FAST_RETRIES = RetryPolicy(max_attempts=2, max_seconds=5, initial_wait=0.001, max_wait=0.01)


@pytest.fixture
def fake():
    account = small_account(customers=6)
    account.faults.append((r"/v1/events", lambda p: account.error(403, "permission_denied", "rak_event_read")))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        account.install(rsps)
        yield account


def provider():
    return StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000), retry_policy=FAST_RETRIES)


def test_without_events_the_next_sync_rereads_in_full_and_says_what_it_costs(fake, caplog):
    store = open_store(None)
    store.bind_account(provider().identify())
    assert run_sync(store, provider(), streams=["customers", "invoices"], workers=2, clock=lambda: START).failures == {}
    changed = dict(fake.objects["customers"]["cus_00001"], email="changed@example.com")
    fake.objects["customers"]["cus_00001"] = changed
    gone = fake.objects["customers"].pop("cus_00002")
    fake.calls.clear()
    with caplog.at_level(logging.WARNING):
        report = run_sync(store, provider(), streams=["customers", "invoices"], workers=2, clock=lambda: START + 3600)
    assert report.failures == {} and sorted(report.full_reads) == ["customers", "invoices"]
    assert [r.getMessage() for r in caplog.records] == [
        "the API key may not read events (403): re-reading customers, invoices in full instead of only what "
        "changed (about 2 requests for 12 rows, on every sync); grant 'Events: Read' to the restricted key to "
        "make syncs incremental",
        "customers: 1 rows no longer listed upstream were marked _deleted",
    ]
    assert [path for path, _ in fake.calls].count("/v1/events") == 1
    data = json.loads(store.db.execute("select data from customers where id = 'cus_00001'").fetchone()[0])
    assert data["email"] == "changed@example.com"
    assert store.db.execute("select _deleted from customers where id = ?", [gone["id"]]).fetchone() == (1,)
    assert {s: store.get_state(s)["phase"] for s in ("customers", "invoices")} == {
        "customers": "incremental", "invoices": "incremental"}


def test_events_is_a_stream_name():
    p = provider()
    assert resolve_streams(p, ["customers", "events", "invoice_payments"]) == ["customers", "invoices"]


def test_auth_fails_when_events_are_refused_and_says_what_it_costs(fake):
    result = run_cli(["auth", "--json"])
    assert result.exit_code == EXIT_PERMISSION
    assert result.stderr == ("error: the key may not read events: grant Read on them to the restricted key "
                             "(without events, every sync re-reads each stream in full)\n")
    rows = {row["stream"]: row for row in json.loads(result.stdout)["streams"]}
    assert not rows["events"]["readable"] and "Events: Read" in rows["events"]["reason"]


def test_auth_passes_when_only_a_stream_left_out_of_the_sync_is_refused(tmp_path):
    account = small_account(customers=2)
    account.faults.append((r"/v1/credit_notes", lambda p: account.error(403, "permission_denied", "rak_cn_read")))
    config = tmp_path / "config.toml"
    config.write_text('[stripe]\nstreams = ["customers", "events"]\n')
    config.chmod(0o600)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        account.install(rsps)
        result = run_cli(["auth", "--config", str(config), "--json"])
    assert result.exit_code == EXIT_OK, result.stderr
    info = json.loads(result.stdout)
    rows = {row["stream"]: row for row in info["streams"]}
    assert info["needed"] == ["customers", "events"] and "Credit notes: Read" in rows["credit_notes"]["reason"]
