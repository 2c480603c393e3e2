"""Every kind of answer the demo server gives, held to Stripe's definitions (SDK + fixtures).

The crawl reads, over HTTP, every list in full (no expansion: what Stripe sends
unasked), the account, a few details of each stream, every deleted object's stub,
the nested lists (``/v1/invoices/{id}/lines`` beyond the ten embedded lines, and
``/v1/subscription_items``), and every event with its ``data.object``. Each body
goes through ``ResponseChecker``: no invented field, no required one missing, types
and enum values as the SDK declares them, references as ids.
"""

from __future__ import annotations

import pytest

from connector.demo import DemoServer

from tests.support.contract.demo_client import KEY, LIST_PATHS, DemoClient
from tests.support.demo import NOW
from tests.support.contract.request_check import answer_class, find_endpoint
from tests.support.contract.response_check import ResponseChecker
from tests.support.contract.stripe_schema import resource_class

DETAILS_PER_LIST = 5


class Crawl(DemoClient):
    def __init__(self, server):
        super().__init__(server)
        self.checker = ResponseChecker()
        self.bodies: dict[str, list[dict]] = {}

    def read_list(self, path: str, object_name: str, **params) -> list[dict]:
        objects, cursor = [], None
        while True:
            body = self.get(path, limit=100, **params, **({"starting_after": cursor} if cursor else {}))
            self.checker.check_body(body, object_name, is_list=True)
            objects += body["data"]
            if not body["has_more"]:
                return objects
            cursor = body["data"][-1]["id"]

    def detail(self, path: str, object_name: str) -> dict:
        body = self.get(path)
        self.checker.check_body(body, object_name)
        return body


@pytest.fixture(scope="module")
def crawl() -> Crawl:
    with DemoServer(customers=80, seed=3, now=NOW) as server:
        yield crawl_all(server)


def crawl_all(server) -> Crawl:
    """Every answer of the kinds above that ``server`` gives, checked as it comes."""
    crawl = Crawl(server)
    crawl.detail("/v1/account", "account")
    for path, object_name in LIST_PATHS.items():
        params = {"status": "all"} if path == "/v1/subscriptions" else {}
        objects = crawl.read_list(path, object_name, **params)
        crawl.bodies[path] = objects
        for obj in objects[:DETAILS_PER_LIST]:
            crawl.detail(f"{path}/{obj['id']}", object_name)
    for object_id, stub in server.account.deleted.items():
        path = {"customer": "/v1/customers", "coupon": "/v1/coupons", "product": "/v1/products"}[stub["object"]]
        crawl.detail(f"{path}/{object_id}", stub["object"])
    for invoice in crawl.bodies["/v1/invoices"]:
        if invoice["lines"]["has_more"] or invoice is crawl.bodies["/v1/invoices"][0]:
            crawl.read_list(f"/v1/invoices/{invoice['id']}/lines", "line_item")
    for clock in crawl.read_list("/v1/test_helpers/test_clocks", "test_helpers.test_clock"):
        crawl.detail(f"/v1/test_helpers/test_clocks/{clock['id']}", "test_helpers.test_clock")
        # a test clock's customers and subscriptions: listed only with test_clock=
        crawl.bodies["clock customers"] = crawl.read_list("/v1/customers", "customer", test_clock=clock["id"])
        crawl.read_list("/v1/subscriptions", "subscription", test_clock=clock["id"], status="all")
    for subscription in crawl.bodies["/v1/subscriptions"][:20]:
        items = crawl.read_list("/v1/subscription_items", "subscription_item", subscription=subscription["id"])
        crawl.detail(f"/v1/subscription_items/{items[0]['id']}", "subscription_item")
    return crawl


def test_every_answer_matches_stripes_definitions(crawl):
    problems = crawl.checker.summary()
    assert not problems, "\n".join(problems)


# Accounts of other shapes (connector/demo/shapes.py), small: a seat-based customer has thousands of lines.
SHAPED_CUSTOMERS = {"b2c": 40, "seats": 2, "young": 60, "usage": 20}


@pytest.mark.parametrize("shape", sorted(SHAPED_CUSTOMERS))
def test_every_shapes_answers_match_stripes_definitions(shape):
    with DemoServer(customers=SHAPED_CUSTOMERS[shape], seed=3, now=NOW, shape=shape) as server:
        problems = crawl_all(server).checker.summary()
    assert not problems, "\n".join(problems)


def test_the_crawl_covered_every_stream_and_nested_list(crawl):
    checker = crawl.checker
    assert all(crawl.bodies[path] for path in LIST_PATHS), {p: len(b) for p, b in crawl.bodies.items()}
    assert any(i["lines"]["has_more"] for i in crawl.bodies["/v1/invoices"])
    assert crawl.bodies["clock customers"]
    # every object type the demo serves was checked, deleted ones included
    assert set(checker.object_types) == {
        "account", "customer", "product", "price", "plan", "coupon", "promotion_code", "subscription",
        "subscription_item", "invoice", "invoice_payment", "line_item", "invoiceitem", "credit_note",
        "credit_note_line_item", "charge", "refund", "event", "test_helpers.test_clock",
        "deleted customer", "deleted coupon",
    }
    print(f"contract: {checker.responses} responses, {checker.objects} objects, {checker.fields} fields checked")


def test_every_route_the_demo_serves_is_a_stripe_endpoint_answering_its_type():
    assert {"/v1/promotion_codes", "/v1/invoiceitems", "/v1/invoice_payments"} <= set(LIST_PATHS)
    for path, object_name in LIST_PATHS.items():
        for concrete, is_list in ((path, True), (f"{path}/x_1", False)):
            endpoint = find_endpoint("GET", concrete)
            assert endpoint is not None, concrete
            assert answer_class(endpoint) == (resource_class(object_name), is_list), concrete
    for nested in ("/v1/invoices/in_1/lines", "/v1/subscription_items", "/v1/subscription_items/si_1"):
        assert find_endpoint("GET", nested) is not None


def test_error_answers_are_stripes_error_object():
    """The errors the demo gives (404, 400s, 401, 403, 429) carry only what Stripe's error object declares."""
    with DemoServer(customers=5, seed=3, now=NOW) as server:
        client, checker = DemoClient(server), ResponseChecker()
        answers = [client.call("/v1/customers/cus_missing"), client.call("/v1/customers", limit=500),
                   client.call("/v1/subscriptions", **{"expand[]": "data.mrr"}),
                   client.call("/v1/invoices", **{"expand[]": "data.lines.data.discounts.customer"}),
                   client.call("/v1/subscription_items"), client.call("/v1/nothing")]
        client.session.headers["Authorization"] = "Bearer not_a_key"
        answers.append(client.call("/v1/customers"))
        client.session.headers["Authorization"] = f"Bearer {KEY}"
        server.configure(forbidden_streams=["charges"], faults={"500": 1.0})
        answers.append(client.call("/v1/customers"))
        server.configure(faults={})
        answers.append(client.call("/v1/charges"))
        server.configure(rate_limit=0.01)
        answers.append([client.call("/v1/customers") for _ in range(2)][-1])
    assert [status for status, _ in answers] == [404, 400, 400, 400, 400, 404, 401, 500, 403, 429]
    for _, body in answers:
        checker.check_error(body)
    assert checker.summary() == []


def test_events_carry_whole_objects_of_their_own_type(crawl):
    types = {event["data"]["object"]["object"] for event in crawl.bodies["/v1/events"]}
    assert {"subscription", "invoice", "charge"} <= types
