"""The demo server expands exactly as Stripe does, for every expandable field the SDK declares.

An ``ExpandableField`` of the SDK comes back as an id unless the request expands
it; then as the whole object (held to Stripe's definitions by ``ResponseChecker``).
Lists take ``data.`` first, paths go through nested objects, arrays and embedded
lists, at most four levels; what cannot be expanded is refused with Stripe's 400.
"""

from __future__ import annotations

import pytest

from connector.demo import DemoServer

from tests.support.contract.demo_client import LIST_PATHS, DemoClient
from tests.support.demo import NOW
from tests.support.contract.response_check import ResponseChecker
from tests.support.contract.stripe_schema import declared_fields, field_type, object_name_of, resource_class

# object type -> its list path (events are never expanded: their snapshots are whole)
DETAILS = {name: path for path, name in LIST_PATHS.items() if name != "event"}
# objects the demo account holds, so a reference to one of them must expand
HELD = set(DETAILS) | {"discount", "subscription_item", "line_item"}
TOO_DEEP = "You cannot expand more than 4 levels of a property."


def valid(body, object_name, expand=(), is_list=False) -> list[str]:
    checker = ResponseChecker()
    checker.check_body(body, object_name, expand, is_list)
    return checker.summary()


@pytest.fixture(scope="module")
def server():
    with DemoServer(customers=60, seed=6, now=NOW) as running:
        yield DemoClient(running)


@pytest.fixture(scope="module")
def listed(server) -> dict[str, list[dict]]:
    return {name: server.get(path, limit=100, **({"status": "all"} if name == "subscription" else {}))["data"]
            for name, path in DETAILS.items()}


def expandable_fields(object_name: str) -> dict[str, tuple[str, ...]]:
    """field -> the object types it expands to, per the SDK's ``ExpandableField`` annotations."""
    fields = {}
    for name, hint in declared_fields(resource_class(object_name)).items():
        ft = field_type(hint)
        while ft.kind == "list":
            ft = field_type(ft.item)
        if ft.kind == "expandable":
            fields[name] = tuple(object_name_of(c) for c in ft.targets)
    return fields


def test_every_sdk_expandable_reference_expands_or_names_an_object_the_demo_does_not_hold(server, listed):
    expanded, refused = set(), set()
    for object_name, objects in listed.items():
        for name, targets in expandable_fields(object_name).items():
            holder = next((o for o in objects if o.get(name) not in (None, [])), None)
            if holder is None:
                continue  # the demo never fills this reference (e.g. application, on_behalf_of)
            assert valid(holder, object_name) == []  # unexpanded: an id (or ids)
            status, body = server.call(f"{DETAILS[object_name]}/{holder['id']}", **{"expand[]": name})
            if status == 200:
                assert valid(body, object_name, [name]) == [], (object_name, name)
                values = body[name] if isinstance(body[name], list) else [body[name]]
                assert all(isinstance(v, dict) and v["object"] in targets for v in values), (object_name, name)
                expanded.add((object_name, name))
            else:
                assert (status, body["error"]["message"]) == (400, f"This property cannot be expanded ({name}).")
                assert not set(targets) & HELD, f"{object_name}.{name} names objects the demo holds: {targets}"
                refused.add((object_name, name))
    assert {("subscription", "customer"), ("subscription", "latest_invoice"), ("subscription", "discounts"),
            ("invoice", "customer"), ("invoice", "discounts"), ("charge", "customer"), ("refund", "charge"),
            ("credit_note", "invoice"), ("price", "product"), ("product", "default_price")} <= expanded
    # references to objects this account does not hold (balance transactions, payment intents, ...)
    assert ("charge", "balance_transaction") in refused and ("charge", "payment_intent") in refused


def test_lists_expand_with_the_data_prefix_only(server):
    body = server.get("/v1/subscriptions", limit=20, status="all",
               **{"expand[]": ["data.customer", "data.latest_invoice"]})
    assert valid(body, "subscription", ["data.customer", "data.latest_invoice"], is_list=True) == []
    assert all(isinstance(s["customer"], dict) for s in body["data"])
    status, error = server.call("/v1/subscriptions", limit=3, **{"expand[]": "customer"})
    assert (status, error["error"]["message"]) == (400, "This property cannot be expanded (customer).")


def test_nested_paths_expand_every_level_and_nothing_else(server, listed):
    subscription = next(s for s in listed["subscription"] if s["discounts"] and s["latest_invoice"])
    paths = ["latest_invoice.customer", "discounts.source.coupon", "items.data.price.product"]
    body = server.get(f"/v1/subscriptions/{subscription['id']}", **{"expand[]": paths})
    assert valid(body, "subscription", paths) == []
    assert body["latest_invoice"]["customer"]["object"] == "customer"
    assert body["discounts"][0]["source"]["coupon"]["object"] == "coupon"
    assert body["items"]["data"][0]["price"]["product"]["object"] == "product"
    # only what was asked: the invoice's own discounts, the discount's customer stay ids
    assert all(isinstance(d, str) for d in body["latest_invoice"]["discounts"])
    assert isinstance(body["discounts"][0]["customer"], str) and isinstance(body["customer"], str)


def test_expanding_a_discount_leaves_its_coupon_an_id(server, listed):
    subscription = next(s for s in listed["subscription"] if s["discounts"])
    body = server.get(f"/v1/subscriptions/{subscription['id']}", **{"expand[]": "discounts"})
    assert valid(body, "subscription", ["discounts"]) == []
    assert isinstance(body["discounts"][0]["source"]["coupon"], str)


def test_nested_lists_expand_their_entries(server, listed):
    invoice = next(i for i in listed["invoice"] if any(line["discounts"] for line in i["lines"]["data"]))
    path = f"/v1/invoices/{invoice['id']}/lines"
    body = server.get(path, **{"expand[]": "data.discounts"})
    assert valid(body, "line_item", ["data.discounts"], is_list=True) == []
    assert any(isinstance(d, dict) for line in body["data"] for d in line["discounts"])
    assert valid(server.get(path), "line_item", is_list=True) == []


def test_four_levels_at_most_as_stripe(server, listed):
    four = server.get("/v1/subscriptions", limit=5, status="all", **{"expand[]": "data.discounts.source.coupon"})
    assert valid(four, "subscription", ["data.discounts.source.coupon"], is_list=True) == []
    for path, deep in (("/v1/subscriptions", "data.items.data.price.product"),
                       ("/v1/invoices", "data.lines.data.discounts.customer")):
        status, body = server.call(path, limit=5, **{"expand[]": deep})
        assert (status, body["error"]["message"], body["error"]["type"]) == (400, TOO_DEEP, "invalid_request_error")


def test_what_is_not_expandable_is_refused(server, listed):
    subscription = listed["subscription"][0]
    for name, shown in (("status", "status"), ("mrr", "mrr"), ("customer.nickname", "nickname"),
                        ("items.price", "price")):
        status, body = server.call(f"/v1/subscriptions/{subscription['id']}", **{"expand[]": name})
        assert (status, body["error"]["message"]) == (400, f"This property cannot be expanded ({shown}).")


def test_includable_fields_come_only_when_expanded(server, listed):
    tiered = next(p for p in listed["price"] if p["billing_scheme"] == "tiered")
    assert "tiers" not in tiered
    body = server.get("/v1/prices", limit=100, **{"expand[]": "data.tiers"})
    assert valid(body, "price", ["data.tiers"], is_list=True) == []
    assert all(("tiers" in p) == (p["billing_scheme"] == "tiered") for p in body["data"])


def test_a_charges_refunds_and_a_customers_lists_expand_as_the_sdk_declares(server, listed):
    """What Singer's tap-stripe expands: each filled list holds only what Stripe's definitions of the
    holder and of the listed objects declare (a field the demo invented, or a reference it expanded
    unasked, fails here)."""
    refunds = server.get("/v1/charges", limit=100, **{"expand[]": "data.refunds"})
    assert valid(refunds, "charge", ["data.refunds"], is_list=True) == []
    assert any(c["refunds"]["data"] for c in refunds["data"])
    assert all(r["object"] == "refund" and isinstance(r["charge"], str) for c in refunds["data"]
               for r in c["refunds"]["data"])
    paths = ["data.sources", "data.subscriptions", "data.tax_ids"]
    customers = server.get("/v1/customers", limit=100, **{"expand[]": paths})
    assert valid(customers, "customer", paths, is_list=True) == []
    assert any(c["subscriptions"]["data"] for c in customers["data"])
    assert all(isinstance(s["customer"], str) for c in customers["data"] for s in c["subscriptions"]["data"])


def test_a_deleted_coupon_is_no_longer_listed_but_its_discounts_still_name_it():
    with DemoServer(customers=40, seed=2, now=NOW) as running:
        server = DemoClient(running)
        subscriptions = server.get("/v1/subscriptions", limit=100, status="all",
                            **{"expand[]": "data.discounts"})["data"]
        holder = next(s for s in subscriptions if s["discounts"])
        coupon_id = holder["discounts"][0]["source"]["coupon"]
        running.delete_coupon(coupon_id)
        assert coupon_id not in [c["id"] for c in server.get("/v1/coupons", limit=100)["data"]]
        assert server.get(f"/v1/coupons/{coupon_id}") == {"id": coupon_id, "object": "coupon", "deleted": True}
        after = server.get(f"/v1/subscriptions/{holder['id']}", **{"expand[]": "discounts"})
        assert after["discounts"][0]["source"]["coupon"] == coupon_id
        terms = server.get(f"/v1/subscriptions/{holder['id']}", **{"expand[]": "discounts.source.coupon"})
        coupon = terms["discounts"][0]["source"]["coupon"]
        assert valid(terms, "subscription", ["discounts.source.coupon"]) == []
        assert (coupon["id"], coupon["valid"]) == (coupon_id, False)
        assert coupon["percent_off"] is not None or coupon["amount_off"] is not None
