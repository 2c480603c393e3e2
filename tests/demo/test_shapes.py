"""Account shapes (connector/demo/shapes.py): each is served, paged and synced completely, each is
the kind of account it says it is, and the default account is the demo's own."""

from __future__ import annotations

from collections import Counter

import pytest

from connector.demo import STREAMS, DemoAccount, DemoServer
from connector.demo.server import build_parser
from connector.demo.shapes import SHAPES, AccountShape, shape_named
from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync

from tests.support.demo import NOW
from tests.support.keys import CANARY_KEY

# Small accounts of every shape: a seat-based customer alone has thousands of invoice lines.
CUSTOMERS = {"saas": 25, "b2c": 40, "seats": 3, "young": 60, "usage": 20}


@pytest.fixture(scope="module", params=sorted(SHAPES))
def shaped(request) -> DemoAccount:
    return DemoAccount(seed=2, customers=CUSTOMERS[request.param], now=NOW, shape=request.param)


def test_the_default_shape_is_the_demo_account():
    default, named = DemoAccount(seed=7, customers=25, now=NOW), DemoAccount(seed=7, customers=25, now=NOW, shape="saas")
    for stream in STREAMS:
        assert named.objects(stream) == default.objects(stream), stream
    assert shape_named(None) == AccountShape() == SHAPES["saas"]
    assert build_parser().parse_args([]).shape is None


def test_an_unknown_shape_is_refused_with_the_names_there_are():
    with pytest.raises(ValueError, match="unknown account shape 'enterprise'; one of saas, b2c, seats, young, usage"):
        shape_named("enterprise")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--shape", "enterprise"])


def _lines_per_invoice(account: DemoAccount) -> Counter:
    return Counter(line["invoice"] for line in account.objects("invoice_line_items"))


def _items_per_subscription(account: DemoAccount) -> Counter:
    return Counter(item["subscription"] for item in account.objects("subscription_items"))


def test_each_shape_is_the_account_it_says(shaped):
    lines = _lines_per_invoice(shaped)
    invoices = shaped.objects("invoices")
    name = shaped.shape.name
    if name == "b2c":
        assert set(_items_per_subscription(shaped).values()) == {1}
        assert Counter(lines.values()).most_common(1)[0][0] == 1
        assert len(shaped.objects("charges")) >= 0.95 * len(invoices)
    elif name == "seats":
        assert min(lines.values()) >= 6            # a trial's invoice: its items alone
        assert sum(count >= 16 for count in lines.values()) > 0.9 * len(invoices)
        assert max(lines.values()) > 200
        assert 10 < max(_items_per_subscription(shaped).values()) <= 20   # Stripe allows 20 items
    elif name == "young":
        subscribed = {s["customer"] for s in shaped.objects("subscriptions")}
        customers = shaped.objects("customers")
        assert 0.2 * len(customers) < len(customers) - len(subscribed) < 0.6 * len(customers)
        assert len(shaped.objects("prices")) > 1500 and len(shaped.objects("coupons")) > 400
        assert min(i["created"] for i in invoices) >= NOW - 120 * 86400
    elif name == "usage":
        assert len(shaped.objects("invoice_items")) > 3 * len(invoices)
        assert sum(count > 10 for count in lines.values()) < 0.1 * len(invoices)
    else:
        assert name == "saas"


def test_each_shape_is_synced_completely(shaped, tmp_path):
    with DemoServer(shaped) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(1000, per_endpoint=250))
        store = open_store(tmp_path / "shape.db")
        store.bind_account(provider.identify())
        report = run_sync(store, provider, streams=list(provider.streams), workers=8)
        assert report.failures == {}
        for stream in STREAMS:
            if stream == "events":
                continue
            stored = store.db.execute(f"select count(*) from {stream} where _deleted = 0").fetchone()[0]
            assert stored == len(shaped.objects(stream)), stream
