"""Child lists completed at the request level: invoice payments, and item discounts' coupons.

An invoice's ``payments`` (expanded on the list) shows ten; the rest are read from
``/v1/invoice_payments?invoice=``. Item and line discounts can carry their coupon
only as an id from the parent's list (the fifth expand level): the child list is
re-read with ``data.discounts.source.coupon`` then, unless the parent's own
discounts already carry those coupons.
"""

from __future__ import annotations

import json


from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from tests.support.keys import CANARY_KEY

from tests.support.fakestripe import BASE, small_account

FAST_RETRIES = RetryPolicy(max_attempts=4, max_seconds=5, initial_wait=0.001, max_wait=0.01)
CHILD_EXPAND = {"expand[0]": "data.discounts", "expand[1]": "data.discounts.source.coupon"}
COUPON = {"id": "C50", "object": "coupon", "duration": "forever", "percent_off": 50.0}


def provider():
    return StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000), retry_policy=FAST_RETRIES)


def sync(fake, rsps, streams):
    fake.install(rsps)
    p = provider()
    store = open_store(None)
    store.bind_account(p.identify())
    report = run_sync(store, p, streams=streams, workers=4, clock=lambda: 1_700_000_000)
    assert report.failures == {}
    return store


def payment(n: int, invoice_id: str) -> dict:
    return {"id": f"inpay_{invoice_id}_{n:02d}", "object": "invoice_payment", "invoice": invoice_id,
            "amount_paid": 100, "amount_requested": 100, "created": 1_600_000_000 + n, "currency": "usd",
            "is_default": n == 0, "livemode": False, "status": "paid",
            "payment": {"type": "payment_intent", "payment_intent": f"pi_{invoice_id}_{n:02d}"},
            "status_transitions": {"canceled_at": None, "paid_at": 1_600_000_000 + n}}


def with_payments(invoice: dict, count: int) -> None:
    payments = [payment(n, invoice["id"]) for n in range(count)]
    invoice["payments"] = {"object": "list", "data": payments[:10], "has_more": count > 10,
                           "url": f"/v1/invoice_payments?invoice={invoice['id']}"}
    invoice["_all_payments"] = payments


def test_truncated_invoice_payments_are_completed_from_their_list(rsps):
    fake = small_account(customers=3)
    invoices = fake.objects["invoices"]
    with_payments(invoices["in_00000"], 12)
    with_payments(invoices["in_00001"], 1)
    store = sync(fake, rsps, ["invoices"])
    rows = store.db.execute("select invoice, count(*), min(payment_intent) from invoice_payments "
                            "where _deleted = 0 group by 1 order by 1").fetchall()
    assert rows == [("in_00000", 12, "pi_in_00000_00"), ("in_00001", 1, "pi_in_00001_00")]
    assert [p for path, p in fake.calls if path == "/v1/invoice_payments"] == [
        {"limit": "100", "invoice": "in_00000"}]


def test_an_invoice_payment_event_rereads_its_invoice_with_every_payment(rsps):
    fake = small_account(customers=2)
    invoice = fake.objects["invoices"]["in_00001"]
    store = sync(fake, rsps, ["invoices"])
    assert store.db.execute("select count(*) from invoice_payments").fetchone() == (0,)
    cursor = store.get_state("invoices")["events_cursor"]
    with_payments(invoice, 11)
    fake.calls.clear()
    fake.add_event("invoice_payment.paid", payment(10, "in_00001"), cursor + 10)
    report = run_sync(store, provider(), streams=["invoices"], workers=4, clock=lambda: cursor + 3600)
    assert report.failures == {} and report.objects_refetched == 1
    assert store.db.execute("select count(*) from invoice_payments where invoice = 'in_00001' "
                            "and _deleted = 0").fetchone() == (11,)
    detail = [p for path, p in fake.calls if path == "/v1/invoices/in_00001"]
    assert detail == [{"expand[0]": "discounts", "expand[1]": "discounts.source.coupon", "expand[2]": "payments",
                       "expand[3]": "lines.data.discounts"}]


def _item_discount(subscription: dict, coupon) -> dict:
    return {"id": "di_item", "object": "discount", "subscription": subscription["id"],
            "subscription_item": subscription["_all_items"][0]["id"], "source": {"type": "coupon", "coupon": coupon},
            "start": 1_600_000_000, "end": None}


def test_an_item_discount_with_its_coupon_as_an_id_rereads_the_items_with_the_coupon(rsps):
    fake = small_account(customers=3)
    subscription = fake.objects["subscriptions"]["sub_00001"]
    listed, complete = _item_discount(subscription, "C50"), _item_discount(subscription, COUPON)
    subscription["items"]["data"][0]["discounts"] = [listed]
    subscription["_all_items"] = [{**subscription["_all_items"][0], "discounts": [complete]},
                                  *subscription["_all_items"][1:]]
    store = sync(fake, rsps, ["subscriptions"])
    item = json.loads(store.db.execute("select data from subscription_items where id = ?",
                                       [subscription["_all_items"][0]["id"]]).fetchone()[0])
    assert item["discounts"][0]["source"]["coupon"] == COUPON
    assert [p for path, p in fake.calls if path == "/v1/subscription_items"] == [
        {"limit": "100", "subscription": "sub_00001", **CHILD_EXPAND}]


def test_no_reread_when_the_parent_already_carries_the_discounts_coupon(rsps):
    fake = small_account(customers=3)
    subscription = fake.objects["subscriptions"]["sub_00001"]
    subscription["discounts"] = [_item_discount(subscription, COUPON)]
    subscription["items"]["data"][0]["discounts"] = [_item_discount(subscription, "C50")]
    sync(fake, rsps, ["subscriptions"])
    assert [p for path, p in fake.calls if path == "/v1/subscription_items"] == []
