"""Negative controls: the validators fail on a deliberately broken demo answer or request.

Each case breaks one thing in an answer the demo server really gives (or in the
demo server itself, for the end-to-end cases) and asserts the exact problem the
checker reports, so a validator that stopped looking would fail here.
"""

from __future__ import annotations

import copy

import pytest

from connector.demo import DemoServer
from connector.demo import unmodelled

from tests.support.contract.demo_client import DemoClient
from tests.support.demo import NOW
from tests.support.contract.request_check import RequestChecker
from tests.support.contract.response_check import ResponseChecker

VERSION = "2026-10-28.endive"


@pytest.fixture(scope="module")
def server():
    with DemoServer(customers=12, seed=4, now=NOW) as running:
        yield DemoClient(running)


@pytest.fixture(scope="module")
def subscription(server) -> dict:
    subscriptions = server.get("/v1/subscriptions", limit=100, status="all")["data"]
    return next(s for s in subscriptions if s["discounts"] and s["latest_invoice"])


def problems_of(body, object_name="subscription", expand=(), is_list=False) -> list[str]:
    checker = ResponseChecker()
    checker.check_body(body, object_name, expand, is_list)
    return [str(p) for p in checker.problems]


def test_the_unbroken_answer_passes(subscription):
    assert problems_of(subscription) == []


def test_an_invented_field_fails(subscription):
    broken = {**copy.deepcopy(subscription), "mrr": 4900}
    assert problems_of(broken) == ["$.mrr: field not declared by the SDK's Subscription (invented)"]


def test_an_invented_field_in_a_nested_object_fails(subscription):
    broken = copy.deepcopy(subscription)
    broken["items"]["data"][0]["price"]["recurring"]["months"] = 1
    assert problems_of(broken) == [
        "$.items.data[0].price.recurring.months: field not declared by the SDK's Price.Recurring (invented)"]


def test_a_missing_required_field_fails(subscription):
    broken = copy.deepcopy(subscription)
    del broken["cancel_at_period_end"]
    assert problems_of(broken) == ["$.cancel_at_period_end: required field missing from Subscription"]


def test_a_wrong_enum_value_fails(subscription):
    broken = {**copy.deepcopy(subscription), "status": "cancelled"}
    assert problems_of(broken) == [
        "$.status: 'cancelled' is not one of the SDK's values ['active', 'canceled', 'incomplete', "
        "'incomplete_expired', 'past_due', 'paused', 'trialing', 'unpaid']"]


def test_a_wrong_type_and_a_null_where_none_is_allowed_fail(subscription):
    broken = {**copy.deepcopy(subscription), "created": "1700000000", "livemode": None}
    assert problems_of(broken) == ["$.created: expected int (JSON), got '1700000000'",
                                   "$.livemode: null where the SDK declares a non-null value"]


def test_an_expanded_field_nobody_asked_for_fails(server, subscription):
    customer = server.get(f"/v1/customers/{subscription['customer']}")
    broken = {**copy.deepcopy(subscription), "customer": customer}
    assert problems_of(broken) == [
        "$.customer: sent expanded although the request did not expand it (Stripe sends the id)"]
    # asked for, it passes; asked for and left an id, it fails
    assert problems_of(broken, expand=["customer"]) == []
    assert problems_of(subscription, expand=["customer"]) == [
        "$.customer: expansion was requested but the field came back as an id"]


def test_an_includable_field_sent_unasked_fails(server):
    tiered = next(p for p in server.get("/v1/prices", limit=100)["data"] if p["billing_scheme"] == "tiered")
    expanded = server.get(f"/v1/prices/{tiered['id']}", **{"expand[]": "tiers"})
    assert problems_of(expanded, "price", expand=["tiers"]) == []
    assert problems_of(expanded, "price") == ["$.tiers: optional field of Price sent although not expanded"]


def test_a_list_with_a_count_stripe_does_not_send_fails(server):
    body = server.get("/v1/customers", limit=3)
    assert problems_of(body, "customer", is_list=True) == []
    assert problems_of({**body, "total_count": 3}, "customer", is_list=True) == [
        "$.total_count: field not declared by the SDK's ListObject"]


def test_a_broken_event_snapshot_fails(server):
    events = server.get("/v1/events", limit=5)
    assert problems_of(events, "event", is_list=True) == []
    broken = copy.deepcopy(events)
    broken["data"][0]["data"]["object"]["colour"] = "red"
    snapshot_class = {"subscription": "Subscription", "invoice": "Invoice", "charge": "Charge",
                      "invoiceitem": "InvoiceItem", "refund": "Refund", "credit_note": "CreditNote",
                      "customer": "Customer", "coupon": "Coupon", "product": "Product", "price": "Price",
                      "plan": "Plan", "promotion_code": "PromotionCode"}[broken["data"][0]["data"]["object"]["object"]]
    # held to the snapshot's own type, although the SDK types `data.object` loosely
    assert problems_of(broken, "event", is_list=True) == [
        f"$.data[0].data.object.colour: field not declared by the SDK's {snapshot_class} (invented)"]


def test_an_error_answer_with_an_invented_field_fails(server):
    status, error = server.call("/v1/customers/cus_missing")
    checker = ResponseChecker()
    checker.check_error(error)
    assert (status, checker.problems) == (404, [])
    error["error"]["hint"] = "try another id"
    checker.check_error(error)
    checker.check_error({"message": "no such customer"})
    assert [str(p) for p in checker.problems] == [
        "$.error.hint: field not declared by the SDK's ErrorObject (invented)",
        "$: an error answer is exactly {'error': {...}}, got keys ['message']"]


def test_a_demo_server_that_invents_a_field_fails_end_to_end(monkeypatch):
    """Break the demo server itself: every subscription it builds carries an invented field."""
    monkeypatch.setitem(unmodelled.UNMODELLED, "subscription",
                        {**unmodelled.UNMODELLED["subscription"], "churn_risk": "low"})
    with DemoServer(customers=3, seed=4, now=NOW) as broken_server:
        body = DemoClient(broken_server).get("/v1/subscriptions", limit=100, status="all")
    problems = problems_of(body, is_list=True)
    assert problems and set(p.split(": ", 1)[1] for p in problems) == {
        "field not declared by the SDK's Subscription (invented)"}
    assert len(problems) == len(body["data"])


def test_a_demo_server_that_drops_a_required_field_fails_end_to_end(monkeypatch):
    monkeypatch.setitem(unmodelled.UNMODELLED, "charge",
                        {k: v for k, v in unmodelled.UNMODELLED["charge"].items() if k != "receipt_email"})
    with DemoServer(customers=3, seed=4, now=NOW) as broken_server:
        body = DemoClient(broken_server).get("/v1/charges", limit=100)
    problems = problems_of(body, "charge", is_list=True)
    assert problems and {p.split(": ", 1)[1] for p in problems} == {"required field missing from Charge"}


@pytest.mark.parametrize(("path", "query", "version", "problem"), [
    ("/v1/customers", [("limit", "100"), ("colour", "red")], VERSION,
     "GET /v1/customers: unknown parameter 'colour' for GET /v1/customers"),
    ("/v1/customers", [("created[after]", "5")], VERSION,
     "GET /v1/customers: parameter 'created[after]': [after] is not declared"),
    ("/v1/customers", [("limit", "ten")], VERSION,
     "GET /v1/customers: parameter 'limit'='ten' does not fit <class 'int'>"),
    ("/v1/subscriptions", [("expand[]", "data.mrr")], VERSION,
     "GET /v1/subscriptions: expand 'data.mrr': 'mrr' is not a field of Subscription"),
    ("/v1/subscriptions", [("expand[]", "discounts")], VERSION,
     "GET /v1/subscriptions: expand 'discounts': a list's expansions start with 'data.'"),
    ("/v1/subscriptions", [("expand[]", "data.status")], VERSION,
     "GET /v1/subscriptions: expand 'data.status': 'status' is not an expandable field"),
    ("/v1/invoices", [("expand[]", "data.lines.data.discounts.customer")], VERSION,
     "GET /v1/invoices: expand 'data.lines.data.discounts.customer' is more than 4 levels deep"),
    ("/v1/customers", [], "2020-08-27",
     "GET /v1/customers: Stripe-Version '2020-08-27', the pinned version is '2026-10-28.endive'"),
    ("/v1/mrr", [], VERSION, "GET /v1/mrr: no endpoint of the SDK has this path"),
])
def test_a_bad_request_fails(path, query, version, problem):
    checker = RequestChecker()
    checker.check("GET", path, query, version)
    assert [str(p) for p in checker.problems] == [problem]


def test_a_good_request_passes():
    checker = RequestChecker()
    checker.check("GET", "/v1/subscriptions", [
        ("limit", "100"), ("status", "all"), ("created[gte]", "1700000000"), ("starting_after", "sub_1"),
        ("expand[0]", "data.discounts.source.coupon"), ("expand[1]", "data.items.data.discounts"),
    ], VERSION)
    checker.check("GET", "/v1/events", [("types[0]", "invoice.paid"), ("created[gt]", "1")], VERSION)
    assert checker.problems == [] and (checker.requests, checker.params, checker.expansions) == (2, 8, 2)
