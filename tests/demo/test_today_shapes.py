"""Shapes of API 2026-10-28.endive the demo serves: test clocks, invoice payments, discounts' coupons."""

from __future__ import annotations

from tests.support.demo import NOW, TEST_KEY
from connector.demo import DemoAccount, DemoServer

import pytest
import requests


@pytest.fixture(scope="module")
def server():
    with DemoServer(DemoAccount(seed=1, customers=60, now=NOW)) as running:
        yield running


def get(server, path, **params):
    response = requests.get(server.url + path, params=params, headers={"Authorization": f"Bearer {TEST_KEY}"},
                            timeout=10)
    return response.status_code, response.json()


def test_a_test_clocks_objects_are_listed_only_with_test_clock(server):
    status, clocks = get(server, "/v1/test_helpers/test_clocks")
    assert status == 200 and [c["object"] for c in clocks["data"]] == ["test_helpers.test_clock"]
    clock = clocks["data"][0]["id"]
    assert get(server, f"/v1/test_helpers/test_clocks/{clock}")[1]["id"] == clock
    on_clock = {c["id"] for c in server.account.objects("customers") if c["test_clock"] == clock}
    assert len(on_clock) == 2
    _, plain = get(server, "/v1/customers", limit=100)
    assert on_clock.isdisjoint(c["id"] for c in plain["data"])
    _, scoped = get(server, "/v1/customers", limit=100, test_clock=clock)
    assert {c["id"] for c in scoped["data"]} == on_clock
    _, subscriptions = get(server, "/v1/subscriptions", limit=100, status="all")
    assert all(s["test_clock"] is None for s in subscriptions["data"])
    _, scoped = get(server, "/v1/subscriptions", limit=100, status="all", test_clock=clock)
    assert scoped["data"] and {s["customer"] for s in scoped["data"]} <= on_clock
    customer = next(iter(on_clock))
    _, by_customer = get(server, "/v1/subscriptions", limit=100, status="all", customer=customer)
    assert by_customer["data"] and all(s["test_clock"] == clock for s in by_customer["data"])


def test_invoice_payments_are_listed_by_invoice_and_included_only_when_expanded(server):
    _, invoices = get(server, "/v1/invoices", limit=5)
    assert all("payments" not in i and "charge" not in i for i in invoices["data"])
    _, expanded = get(server, "/v1/invoices", limit=5, **{"expand[]": "data.payments"})
    for invoice in expanded["data"]:
        _, listed = get(server, "/v1/invoice_payments", invoice=invoice["id"])
        assert invoice["payments"]["data"] == listed["data"]
        assert all(p["object"] == "invoice_payment" and p["invoice"] == invoice["id"] for p in listed["data"])
    payment = expanded["data"][0]["payments"]["data"][0]
    assert get(server, f"/v1/invoice_payments/{payment['id']}")[1] == payment


def test_a_deleted_coupon_is_not_listed_but_its_discounts_still_expand_it(server):
    deleted = {c for c, stub in server.account.deleted.items() if stub["object"] == "coupon"}
    _, coupons = get(server, "/v1/coupons", limit=100)
    assert deleted and deleted.isdisjoint(c["id"] for c in coupons["data"])
    _, subscriptions = get(server, "/v1/subscriptions", limit=100, status="all", **{"expand[]": "data.discounts"})
    carried = [d for s in subscriptions["data"] for d in s["discounts"] if d["source"]["coupon"] in deleted]
    assert carried
    _, expanded = get(server, "/v1/subscriptions", limit=100, status="all",
                      **{"expand[]": "data.discounts.source.coupon"})
    terms = [d["source"]["coupon"] for s in expanded["data"] for d in s["discounts"]
             if d["source"]["coupon"]["id"] in deleted]
    assert terms and all((t["duration"], t["percent_off"], t["valid"]) == ("forever", 20.0, False) for t in terms)


def test_item_discounts_are_ids_unless_expanded_on_the_items(server):
    _, plain = get(server, "/v1/subscriptions", limit=100, status="all")
    discounted = [i for s in plain["data"] for i in s["items"]["data"] if i["discounts"]]
    assert discounted and all(isinstance(d, str) for i in discounted for d in i["discounts"])
    _, listed = get(server, "/v1/subscriptions", limit=100, status="all", **{"expand[]": "data.items.data.discounts"})
    discounts = [d for s in listed["data"] for i in s["items"]["data"] for d in i["discounts"]]
    assert discounts and all(d["object"] == "discount" and d["subscription_item"] and
                             isinstance(d["source"]["coupon"], str) for d in discounts)
    subscription = discounts[0]["subscription"]
    _, items = get(server, "/v1/subscription_items", subscription=subscription,
                   **{"expand[]": "data.discounts.source.coupon"})
    coupons = [d["source"]["coupon"] for i in items["data"] for d in i["discounts"]]
    assert [(c["duration"], c["percent_off"]) for c in coupons] == [("forever", 50.0)]


def test_a_charges_refunds_are_included_only_when_expanded(server):
    """Since API 2022-11-15 a charge's ``refunds`` is null unless expanded (Stripe's changelog: "The
    Charges object no longer auto-expands refunds by default"); Singer's tap-stripe expands them."""
    _, charges = get(server, "/v1/charges", limit=100)
    assert charges["data"] and all(c["refunds"] is None for c in charges["data"])
    _, expanded = get(server, "/v1/charges", limit=100, **{"expand[]": "data.refunds"})
    assert [c["id"] for c in expanded["data"]] == [c["id"] for c in charges["data"]]
    refunded = 0
    for charge in expanded["data"]:
        _, listed = get(server, "/v1/refunds", charge=charge["id"], limit=100)
        assert charge["refunds"] == {"object": "list", "data": listed["data"][:10],
                                     "has_more": len(listed["data"]) > 10, "url": f"/v1/charges/{charge['id']}/refunds"}
        refunded += bool(listed["data"])
    assert refunded and refunded == sum(1 for c in charges["data"] if c["amount_refunded"])
    one = next(c for c in expanded["data"] if c["refunds"]["data"])
    assert get(server, f"/v1/charges/{one['id']}", **{"expand[]": "refunds"})[1] == one
    assert get(server, "/v1/charges", limit=1, **{"expand[]": "data.refunds.data"})[0] == 400


def test_a_customers_sources_subscriptions_and_tax_ids_are_included_only_when_expanded(server):
    """Stripe's customer leaves out ``sources``, ``subscriptions`` and ``tax_ids`` unless expanded (API
    2020-08-27 on); Singer's tap-stripe expands all three."""
    _, customers = get(server, "/v1/customers", limit=100)
    assert all(not {"sources", "subscriptions", "tax_ids"} & c.keys() for c in customers["data"])
    _, expanded = get(server, "/v1/customers", limit=100,
                      **{"expand[]": ["data.sources", "data.subscriptions", "data.tax_ids"]})
    with_subscriptions = 0
    for customer in expanded["data"]:
        cid = customer["id"]
        _, listed = get(server, "/v1/subscriptions", customer=cid, limit=100)
        assert customer["subscriptions"] == {"object": "list", "data": listed["data"][:10],
                                             "has_more": len(listed["data"]) > 10,
                                             "url": f"/v1/customers/{cid}/subscriptions"}
        assert all(s["status"] != "canceled" for s in listed["data"])
        with_subscriptions += bool(listed["data"])
        assert customer["sources"] == {"object": "list", "data": [], "has_more": False,
                                       "url": f"/v1/customers/{cid}/sources"}
        assert customer["tax_ids"]["data"] == [] and customer["tax_ids"]["url"] == f"/v1/customers/{cid}/tax_ids"
    assert with_subscriptions
