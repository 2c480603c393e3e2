"""The adapter's two allowances for Stripe-compatible servers, pinned request by request.

Found running against localstripe (test_localstripe.py), tested here with the
request-level fake so each rule and its limits are exact: a 404 on
``/v1/account`` binds the store to ``acct_unknown_<mode>`` (any other failure
there still fails), and a 400 refusing an ``expand`` re-reads without it, once
per stream per run (any other 400 still fails).
"""

from __future__ import annotations

import logging

import pytest

from connector.constants import STRIPE_API_VERSION
from connector.errors import AuthError, ConnectorError, PermissionDenied
from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.store import AccountIdentity, open_store
from connector.sync import run_sync
from tests.support.keys import CANARY_KEY
from tests.support.fakestripe import BASE, FakeStripe, small_account

FAST_RETRIES = RetryPolicy(max_attempts=3, max_seconds=5, initial_wait=0.001, max_wait=0.01)
LIVE_KEY = "sk_" + "live_CANARY0secret0never0printed0x9Zq"  # split: no live-key pattern committed


def provider(key: str = CANARY_KEY) -> StripeProvider:
    return StripeProvider(key, api_base=BASE, limiter=RateLimiter(1000), retry_policy=FAST_RETRIES)


def refuse_expand(fake: FakeStripe, path: str, message: str, param: str | None = None) -> None:
    """Answer 400 to any request on `path` that asks for an expansion, as a server without the field would."""

    def fault(params):
        if any(key.startswith("expand") for key in params):
            return fake.error(400, None, message, param=param)
        return None

    fake.faults.append((path, fault))


@pytest.mark.parametrize(("key", "account_id", "livemode"), [
    (CANARY_KEY, "acct_unknown_test", False),
    (LIVE_KEY, "acct_unknown_live", True),
])
def test_account_endpoint_404_binds_an_id_naming_only_the_mode(rsps, caplog, key, account_id, livemode):
    fake = FakeStripe()
    fake.faults.append((r"/v1/account", lambda p: fake.error(404, None, "Unrecognized request URL (GET: /v1/account)")))
    fake.install(rsps)
    with caplog.at_level(logging.WARNING):
        identity = provider(key).identify()
    assert identity == AccountIdentity("stripe", account_id, livemode, STRIPE_API_VERSION)
    assert [r.getMessage() for r in caplog.records] == [
        f"GET /v1/account was not found (404): the account id is recorded as {account_id}; keep one --db per account"
    ]
    assert key not in caplog.text


def test_unknown_account_store_still_refuses_the_other_mode(rsps, tmp_path):
    fake = FakeStripe()
    fake.faults.append((r"/v1/account", lambda p: fake.error(404, None, "Unrecognized request URL")))
    fake.install(rsps)
    store = open_store(tmp_path / "billing.db")
    try:
        store.bind_account(provider(CANARY_KEY).identify())
        with pytest.raises(ConnectorError) as refused:
            store.bind_account(provider(LIVE_KEY).identify())
    finally:
        store.close()
    assert "holds test-mode data but the key is live-mode" in str(refused.value)


@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (403, PermissionDenied)])
def test_account_endpoint_other_refusals_still_fail(rsps, status, error):
    fake = FakeStripe()
    fake.faults.append((r"/v1/account", lambda p: fake.error(status, None, "no")))
    fake.install(rsps)
    with pytest.raises(error) as failed:
        provider().identify()
    assert "(404)" not in str(failed.value)


@pytest.mark.parametrize(("message", "param"), [
    ("This property cannot be expanded (discounts).", None),  # Stripe's wording
    ("Invalid array", "expand[0]"),                           # a server that names the parameter instead
])
def test_refused_expansion_rereads_the_stream_without_it_once_per_run(rsps, caplog, message, param):
    fake = small_account(customers=3)
    refuse_expand(fake, r"/v1/subscriptions", message, param)
    fake.install(rsps)
    p = provider()
    store = open_store(None)
    store.bind_account(p.identify())
    with caplog.at_level(logging.WARNING):
        report = run_sync(store, p, streams=["subscriptions", "invoices"], workers=1, clock=lambda: 1_700_000_000)
    assert report.failures == {}
    ids = sorted(r[0] for r in store.db.execute("SELECT id FROM subscriptions WHERE _deleted = 0"))
    assert ids == sorted(fake.objects["subscriptions"])
    sub_calls = [params for path, params in fake.calls if path == "/v1/subscriptions"]
    assert sub_calls == [
        {"limit": "100", "status": "all", "expand[0]": "data.discounts", "expand[1]": "data.discounts.source.coupon",
         "expand[2]": "data.items.data.discounts", "expand[3]": "data.schedule"},
        {"limit": "100", "status": "all"},
    ]
    # Invoices accept the expansion: untouched.
    assert [params for path, params in fake.calls if path == "/v1/invoices"] == [
        {"limit": "100", "expand[0]": "data.discounts", "expand[1]": "data.discounts.source.coupon",
         "expand[2]": "data.payments", "expand[3]": "data.lines.data.discounts"},
    ]
    assert [r.getMessage() for r in caplog.records] == [
        f"Stripe refused GET /v1/subscriptions (HTTP 400): {message}; reading subscriptions without the expansion"
    ]


def test_refused_expansion_on_a_detail_read_is_remembered_for_the_next_ones(rsps):
    fake = small_account(customers=2)
    refuse_expand(fake, r"/v1/subscriptions/.*", "This property cannot be expanded (discounts).")
    fake.install(rsps)
    p = provider()
    first = p.fetch_object("subscriptions", "sub_00000")
    second = p.fetch_object("subscriptions", "sub_00001")
    assert (first["id"], second["id"]) == ("sub_00000", "sub_00001")
    assert [(path, params) for path, params in fake.calls] == [
        ("/v1/subscriptions/sub_00000", {"expand[0]": "discounts", "expand[1]": "discounts.source.coupon",
                                         "expand[2]": "items.data.discounts", "expand[3]": "schedule"}),
        ("/v1/subscriptions/sub_00000", {}),
        ("/v1/subscriptions/sub_00001", {}),
    ]


def test_other_400s_still_fail_the_stream(rsps):
    fake = small_account(customers=2)
    fake.faults.append((r"/v1/subscriptions", lambda p: fake.error(400, "parameter_unknown", "Received unknown parameter: status", param="status")))
    fake.install(rsps)
    p = provider()
    store = open_store(None)
    store.bind_account(p.identify())
    report = run_sync(store, p, streams=["subscriptions"], workers=1, clock=lambda: 1_700_000_000)
    assert {stream: str(error) for stream, error in report.failures.items()} == {
        "subscriptions": "Stripe refused GET /v1/subscriptions (HTTP 400): Received unknown parameter: status"
    }
    assert len([path for path, _ in fake.calls if path == "/v1/subscriptions"]) == 1
