"""Stripe's error bodies (401/403/404/429) and every injected fault class and rule."""

from __future__ import annotations

import json

import pytest
import requests
import stripe

from tests.support.demo import TEST_KEY, sdk_client

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def get(server, path, key=TEST_KEY, timeout=10, **params):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(server.url + path, params=params, headers=headers, timeout=timeout)


def test_401_masks_the_key_like_stripe(quiet_server):
    response = get(quiet_server, "/v1/customers", key="pk_test_51Hsecretpart9abcd")
    assert response.status_code == 401
    assert response.json() == {"error": {"type": "invalid_request_error",
                                         "message": "Invalid API Key provided: pk_test_****abcd"}}
    assert "secretpart" not in response.text
    response = get(quiet_server, "/v1/customers", key=None)
    assert response.status_code == 401 and "You did not provide an API key" in response.json()["error"]["message"]
    with pytest.raises(stripe.AuthenticationError):
        sdk_client(quiet_server.url, key="sk_bogus_0000000000wxyz").v1.customers.list()


def test_basic_auth_is_accepted(quiet_server):
    response = requests.get(quiet_server.url + "/v1/products", auth=(TEST_KEY, ""), timeout=10)
    assert response.status_code == 200 and response.json()["object"] == "list"


def test_403_names_the_missing_permission(quiet_server, account):
    quiet_server.configure(forbidden_streams=["credit_notes"])
    response = get(quiet_server, "/v1/credit_notes")
    assert response.status_code == 403
    assert response.json() == {"error": {"type": "invalid_request_error", "message": (
        f"The provided key 'sk_test_****abcd' does not have the required permissions for this endpoint on "
        f"account '{account.account_id}'. Having the 'rak_credit_note_read' permission would allow this "
        "request to continue.")}}
    note = account.objects("credit_notes")[0]["id"]
    assert get(quiet_server, f"/v1/credit_notes/{note}").status_code == 403
    assert get(quiet_server, "/v1/charges").status_code == 200
    with pytest.raises(stripe.PermissionError):
        sdk_client(quiet_server.url).v1.credit_notes.list()


def test_404_for_unknown_objects_and_urls(quiet_server):
    response = get(quiet_server, "/v1/invoices/in_nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
    assert get(quiet_server, "/v1/widgets").status_code == 404
    with pytest.raises(stripe.InvalidRequestError):
        sdk_client(quiet_server.url).v1.charges.retrieve("ch_nope")


def test_account_endpoint_is_deterministic(quiet_server, account):
    body = get(quiet_server, "/v1/account").json()
    assert body["id"] == account.account_id and body["id"].startswith("acct_demo")
    assert body["object"] == "account"


def test_429_above_the_account_rate_limit(quiet_server):
    # one token and a refill every 100 s: the first request passes, the next ones cannot
    quiet_server.configure(rate_limit=0.01, retry_after=2)
    statuses = [get(quiet_server, "/v1/products", limit=1) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 429, 429]
    limited = statuses[1]
    assert limited.json() == {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": (
        "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.")}}
    assert (limited.headers["Stripe-Should-Retry"], limited.headers["Retry-After"]) == ("true", "2")
    stats = quiet_server.stats()
    assert (stats["total"], stats["successful"], stats["rate_limited"]) == (3, 1, 2)
    with pytest.raises(stripe.RateLimitError):
        sdk_client(quiet_server.url).v1.products.list()


def test_per_endpoint_rate_limit_is_per_endpoint(quiet_server):
    quiet_server.configure(per_endpoint_rate_limit=0.01)
    codes = [get(quiet_server, path, limit=1).status_code
             for path in ("/v1/customers", "/v1/customers", "/v1/products", "/v1/products")]
    assert codes == [200, 429, 200, 429]


@pytest.mark.parametrize("fault, status", [("500", 500), ("502", 502), ("503", 503)])
def test_server_error_faults(quiet_server, fault, status):
    quiet_server.configure(faults={fault: 1.0})
    response = get(quiet_server, "/v1/customers")
    assert response.status_code == status
    assert response.json()["error"]["type"] == "api_error"
    assert response.headers.get("Stripe-Should-Retry") == ("true" if fault == "503" else None)
    assert quiet_server.stats()["faults"] == {fault: 1}


def test_reset_closes_the_connection_without_an_answer(quiet_server):
    quiet_server.configure(faults={"reset": 1.0})
    with pytest.raises(requests.ConnectionError):
        get(quiet_server, "/v1/customers")
    assert quiet_server.stats()["faults"] == {"reset": 1}


def test_malformed_and_truncated_bodies(quiet_server):
    whole = get(quiet_server, "/v1/customers", limit=5).content
    quiet_server.configure(faults={"malformed": 1.0})
    response = get(quiet_server, "/v1/customers", limit=5)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    quiet_server.configure(faults={"truncated": 1.0})
    response = get(quiet_server, "/v1/customers", limit=5)
    assert response.status_code == 200 and response.content == whole[: len(whole) // 2]
    assert quiet_server.stats()["faults"] == {"malformed": 1, "truncated": 1}
    assert quiet_server.stats()["successful"] == 1


def test_slow_answers_after_the_client_gave_up(quiet_server):
    quiet_server.configure(faults={"slow": 1.0}, slow_seconds=3)
    with pytest.raises(requests.Timeout):
        get(quiet_server, "/v1/products", timeout=0.5)


def test_random_faults_follow_the_seed(quiet_server):
    def run():
        quiet_server.configure(faults={"500": 0.5}, fault_seed=42)
        return [get(quiet_server, "/v1/coupons").status_code for _ in range(12)]

    first = run()
    assert first == run() and set(first) == {200, 500}


def test_persistent_failure_on_one_page(quiet_server, account):
    quiet_server.configure(rules=[{"path": "/v1/customers", "page": 3, "fault": "500"}])
    newest = [c["id"] for c in account.objects("customers")]
    assert get(quiet_server, "/v1/customers").status_code == 200
    assert get(quiet_server, "/v1/customers", starting_after=newest[9]).status_code == 200
    third = [get(quiet_server, "/v1/customers", starting_after=newest[19]).status_code for _ in range(3)]
    assert third == [500, 500, 500]
    assert get(quiet_server, "/v1/customers", starting_after=newest[29]).status_code == 200


def test_nth_request_cursor_and_times_rules(quiet_server, account):
    cursor = account.objects("charges")[99]["id"]
    quiet_server.configure(rules=[
        {"path": "/v1/invoices", "nth": 2, "fault": "503"},
        {"path": "/v1/charges", "starting_after": cursor, "fault": "502", "times": 1},
        {"path": "/v1/refunds", "from_nth": 2, "fault": "404"},
    ])
    assert [get(quiet_server, "/v1/invoices").status_code for _ in range(3)] == [200, 503, 200]
    assert [get(quiet_server, "/v1/charges", starting_after=cursor).status_code for _ in range(2)] == [502, 200]
    assert [get(quiet_server, "/v1/refunds").status_code for _ in range(3)] == [200, 404, 404]


def test_injected_429_is_stripes_rate_limit_answer(quiet_server):
    quiet_server.configure(rules=[{"path": "/v1/*", "fault": "429", "times": 1}], retry_after=1)
    limited = get(quiet_server, "/v1/prices")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit"
    assert (limited.headers["Stripe-Should-Retry"], limited.headers["Retry-After"]) == ("true", "1")
    assert get(quiet_server, "/v1/prices").status_code == 200
    assert quiet_server.stats()["faults"] == {"429": 1}


def test_stats_and_runtime_config_over_http(quiet_server):
    get(quiet_server, "/v1/customers")
    get(quiet_server, "/v1/customers/cus_nope")
    stats = requests.get(quiet_server.url + "/_demo/stats", timeout=10).json()
    assert (stats["total"], stats["successful"], stats["by_status"]) == (2, 1, {"200": 1, "404": 1})
    assert stats["endpoints"] == {"GET /v1/customers": 1, "GET /v1/customers/{id}": 1}
    assert stats["first_request_at"] <= stats["last_request_at"]
    reset = requests.post(quiet_server.url + "/_demo/stats/reset", timeout=10).json()
    assert reset["total"] == 0
    changed = requests.post(quiet_server.url + "/_demo/config", json={"latency_ms": 5, "faults": {"503": 0.25}},
                            timeout=10).json()
    assert (changed["latency_ms"], changed["faults"]) == (5, {"503": 0.25})
    refused = requests.post(quiet_server.url + "/_demo/config", json={"warp_speed": 9}, timeout=10)
    assert refused.status_code == 400 and "warp_speed" in refused.json()["error"]["message"]
