"""Stripe's list semantics over HTTP: order, limit, both cursors, created filters, nested lists."""

from __future__ import annotations

import requests

from tests.support.demo import TEST_KEY

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def get(server, path, **params):
    response = requests.get(server.url + path, params=params, headers=AUTH, timeout=10)
    return response.status_code, response.json()


def ids(body):
    return [o["id"] for o in body["data"]]


def newest_first(objects):
    return [o["id"] for o in sorted(objects, key=lambda o: (o["created"], o["id"]), reverse=True)]


def test_default_limit_is_ten_newest_first_with_stripe_envelope(quiet_server, account):
    status, body = get(quiet_server, "/v1/customers")
    assert status == 200
    assert set(body) == {"object", "data", "has_more", "url"}
    assert (body["object"], body["url"], body["has_more"]) == ("list", "/v1/customers", True)
    assert ids(body) == newest_first(account.objects("customers"))[:10]


def test_starting_after_walks_every_object_once(quiet_server, account):
    expected = newest_first(account.objects("charges"))
    seen, cursor = [], None
    while True:
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        _, body = get(quiet_server, "/v1/charges", **params)
        seen += ids(body)
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert seen == expected


def test_ending_before_pages_backwards_newest_first(quiet_server, account):
    expected = newest_first(account.objects("invoices"))
    _, body = get(quiet_server, "/v1/invoices", limit=3, ending_before=expected[10])
    assert ids(body) == expected[7:10] and body["has_more"] is True
    _, body = get(quiet_server, "/v1/invoices", limit=5, ending_before=expected[3])
    assert ids(body) == expected[0:3] and body["has_more"] is False


def test_limit_bounds_and_unknown_cursor(quiet_server):
    _, body = get(quiet_server, "/v1/products", limit=100)
    assert len(body["data"]) == 22 and body["has_more"] is False
    status, body = get(quiet_server, "/v1/products", limit=101)
    assert status == 400 and body["error"]["param"] == "limit"
    status, body = get(quiet_server, "/v1/products", limit=0)
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    status, body = get(quiet_server, "/v1/customers", starting_after="cus_doesnotexist")
    assert status == 400
    assert body["error"] == {"type": "invalid_request_error", "message": "No such object: 'cus_doesnotexist'",
                             "code": "resource_missing", "param": "starting_after"}
    status, body = get(quiet_server, "/v1/customers", ending_before="cus_doesnotexist")
    assert (status, body["error"]["param"]) == (400, "ending_before")


def test_created_filters(quiet_server, account):
    invoices = account.objects("invoices")
    pivot = sorted(i["created"] for i in invoices)[len(invoices) // 2]
    cases = {
        "created[gt]": lambda c: c > pivot, "created[gte]": lambda c: c >= pivot,
        "created[lt]": lambda c: c < pivot, "created[lte]": lambda c: c <= pivot, "created": lambda c: c == pivot,
    }
    for param, keep in cases.items():
        expected = newest_first([i for i in invoices if keep(i["created"])])
        seen, cursor = [], None
        while True:
            _, body = get(quiet_server, "/v1/invoices", limit=100, **{param: pivot},
                          **({"starting_after": cursor} if cursor else {}))
            seen += ids(body)
            if not body["has_more"]:
                break
            cursor = seen[-1]
        assert seen == expected, param
    window = {"created[gte]": pivot - 86400 * 30, "created[lt]": pivot}
    _, body = get(quiet_server, "/v1/invoices", limit=100, **window)
    assert ids(body) == newest_first([i for i in invoices if pivot - 86400 * 30 <= i["created"] < pivot])[:100]


def test_subscriptions_hide_canceled_unless_status_all(quiet_server, account):
    everything = [s for s in account.objects("subscriptions") if s["test_clock"] is None]   # listed with test_clock=

    def walk(**params):
        seen, cursor = [], None
        while True:
            _, body = get(quiet_server, "/v1/subscriptions", limit=100, **params,
                          **({"starting_after": cursor} if cursor else {}))
            seen += body["data"]
            if not body["has_more"]:
                return seen
            cursor = seen[-1]["id"]

    assert [s["id"] for s in walk()] == newest_first([s for s in everything if s["status"] != "canceled"])
    assert [s["id"] for s in walk(status="all")] == newest_first(everything)
    assert {s["status"] for s in walk(status="past_due")} == {"past_due"}


def test_nested_lists_invoice_lines_and_subscription_items(quiet_server, account):
    invoice = next(i for i in account.objects("invoices") if i["lines"]["has_more"])
    all_lines = [l["id"] for l in account.objects("invoice_line_items") if l["invoice"] == invoice["id"]]
    assert [l["id"] for l in invoice["lines"]["data"]] == all_lines[:10]
    _, body = get(quiet_server, f"/v1/invoices/{invoice['id']}/lines", limit=10,
                  starting_after=invoice["lines"]["data"][-1]["id"])
    assert ids(body) == all_lines[10:20] and body["has_more"] is (len(all_lines) > 20)
    assert body["url"] == f"/v1/invoices/{invoice['id']}/lines"
    subscription = next(s for s in account.objects("subscriptions") if s["items"]["has_more"])
    _, body = get(quiet_server, "/v1/subscription_items", subscription=subscription["id"], limit=100)
    assert len(body["data"]) == 13 and body["has_more"] is False
    assert ids(body)[:10] == [i["id"] for i in subscription["items"]["data"]]
    status, body = get(quiet_server, "/v1/subscription_items")
    assert status == 400 and body["error"]["param"] == "subscription"


def test_detail_endpoints_and_deleted_objects(quiet_server, account):
    for stream, path in [("customers", "customers"), ("invoices", "invoices"), ("charges", "charges"),
                         ("prices", "prices"), ("events", "events"), ("invoice_items", "invoiceitems"),
                         ("subscription_items", "subscription_items"), ("credit_notes", "credit_notes")]:
        obj = account.objects(stream)[0]
        status, body = get(quiet_server, f"/v1/{path}/{obj['id']}")
        assert (status, body) == (200, obj), stream
    deleted = next(object_id for object_id, stub in account.deleted.items() if stub["object"] == "customer")
    assert get(quiet_server, f"/v1/customers/{deleted}") == (200, {"id": deleted, "object": "customer",
                                                                   "deleted": True})
    status, body = get(quiet_server, "/v1/customers/cus_missing")
    assert status == 404 and body["error"] == {"type": "invalid_request_error", "code": "resource_missing",
                                               "message": "No such customer: 'cus_missing'", "param": "id"}


def test_expansions(quiet_server, account):
    _, body = get(quiet_server, "/v1/subscriptions", limit=100, status="all",
                  **{"expand[]": ["data.discounts", "data.customer"]})
    with_discount = [s for s in body["data"] if s["discounts"]]
    # since 2025-09-30 a discount's coupon is an id unless expanded too
    assert with_discount and all(d["object"] == "discount" and isinstance(d["source"]["coupon"], str)
                                 for s in with_discount for d in s["discounts"])
    _, coupons = get(quiet_server, "/v1/subscriptions", limit=100, status="all",
                     **{"expand[]": ["data.discounts.source.coupon"]})
    assert all(d["source"]["coupon"]["object"] == "coupon" for s in coupons["data"] for d in s["discounts"])
    assert all(isinstance(s["customer"], dict) for s in body["data"])
    tiered = next(p for p in account.objects("prices") if p["tiers_mode"] == "volume")
    _, price = get(quiet_server, f"/v1/prices/{tiered['id']}", **{"expand[]": "tiers"})
    assert [t["up_to"] for t in price["tiers"]] == [10, 50, None]
    status, body = get(quiet_server, "/v1/invoices", limit=3, **{"expand[]": "data.nonsense"})
    assert (status, body["error"]["message"]) == (400, "This property cannot be expanded (nonsense).")


def test_events_filters_and_retention(quiet_server, account):
    events = account.objects("events")
    assert min(e["created"] for e in events) >= account.now - 30 * 86400
    _, body = get(quiet_server, "/v1/events", limit=100, type="invoice.paid")
    assert body["data"] and {e["type"] for e in body["data"]} == {"invoice.paid"}
    _, body = get(quiet_server, "/v1/events", limit=100, **{"types[]": ["charge.refunded", "refund.created"]})
    assert {e["type"] for e in body["data"]} == {"charge.refunded", "refund.created"}
    _, body = get(quiet_server, "/v1/events", limit=100, type="customer.subscription.*")
    assert {e["type"].rsplit(".", 1)[0] for e in body["data"]} == {"customer.subscription"}
    _, body = get(quiet_server, "/v1/events", limit=100, **{"created[lt]": account.now - 31 * 86400})
    assert body["data"] == []
    paid = next(e for e in events if e["type"] == "invoice.paid")
    created = next(e for e in events if e["type"] == "invoice.created" and
                   e["data"]["object"]["id"] == paid["data"]["object"]["id"])
    assert (created["data"]["object"]["status"], paid["data"]["object"]["status"]) == ("draft", "paid")
