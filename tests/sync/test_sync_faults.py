"""Request-level faults: each with its exact outcome."""

from __future__ import annotations

import logging

import pytest
import requests

from connector.errors import ConnectorError, UpstreamUnavailable
from connector.sync.full import ENUMS

from tests.support.fakestripe import FakeStripe, customer, small_account
from tests.support.syncing import live_ids, synced_store


def counting(fake, path, answer, times=None):
    calls = {"n": 0}

    def fault(params):
        calls["n"] += 1
        if times is None or calls["n"] <= times:
            return answer(params)
        return None

    fake.faults.append((path, fault))
    return calls


def test_cursor_object_deleted_while_paging_rereads_its_second(rsps):
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000 + i // 50) for i in range(300)]})
    state = {"deleted": False}

    def delete_cursor_object(params):
        if params.get("starting_after") and not state["deleted"]:
            state["deleted"] = True
            fake.objects["customers"].pop(params["starting_after"])
        return None

    fake.faults.append((r"/v1/customers", delete_cursor_object))
    everyone = sorted(fake.objects["customers"])
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert report.failures == {} and state["deleted"]
    # Nothing skipped: every object listed, the vanished cursor object included (it was
    # written with its page; its delete event marks it _deleted on the next events pass).
    assert live_ids(store, "customers") == everyone


def test_connection_reset_mid_page_is_retried(rsps):
    fake = small_account(customers=5)
    calls = {"n": 0}

    def reset_twice(params):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise requests.ConnectionError("Connection reset by peer")
        return None

    fake.faults.append((r"/v1/customers", reset_twice))
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert report.failures == {} and calls["n"] >= 3
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])


def test_429_beyond_the_budget_is_rate_limited_and_keeps_the_cursor(rsps):
    fake = small_account(customers=5)
    counting(fake, r"/v1/customers", lambda p: fake.error(429, "rate_limit", "Too many requests"))
    store, report = synced_store(fake, rsps, streams=["customers"])
    error = report.failures["customers"]
    assert isinstance(error, UpstreamUnavailable) and str(error).startswith("rate limited on GET /v1/customers after 4 attempts")
    assert store.get_state("customers")["slices"] == [
        {"gte": None, "lt": None, "after": None, "after_created": None, "partition": None}]
    assert live_ids(store, "customers") == []


@pytest.mark.parametrize(
    "status, headers",
    [(503, {"Stripe-Should-Retry": "false"}), (400, {}), (404, {})],
)
def test_never_retried(rsps, status, headers):
    fake = small_account(customers=5)
    calls = counting(fake, r"/v1/customers", lambda p: fake.error(status, "x", "no", headers=headers))
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert isinstance(report.failures["customers"], ConnectorError)
    assert calls["n"] == 1


def test_should_retry_true_is_retried_even_on_a_4xx(rsps):
    fake = small_account(customers=5)
    counting(fake, r"/v1/customers", lambda p: fake.error(409, "lock_timeout", "busy", headers={"Stripe-Should-Retry": "true"}), times=2)
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert report.failures == {}
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])


def test_unknown_enum_value_is_stored_as_is_and_warned_once(rsps, caplog):
    ENUMS.unknown.clear()
    fake = small_account(customers=5)
    for sub in list(fake.objects["subscriptions"].values())[:3]:
        sub["status"] = "hibernating"
    caplog.set_level(logging.WARNING)
    store, report = synced_store(fake, rsps, streams=["subscriptions"])
    assert report.failures == {}
    assert store.db.execute("select count(*) from subscriptions where status = 'hibernating'").fetchone() == (3,)
    assert caplog.text.count("unknown status 'hibernating'") == 1
