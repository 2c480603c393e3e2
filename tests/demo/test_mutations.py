"""Mutations through HTTP (as the SDK sends them): visible at once, each with its events."""

from __future__ import annotations

import pytest
import requests

from connector.demo import DemoAccount, DemoServer

from tests.support.demo import NOW, TEST_KEY, sdk_client

DAY = 86_400


@pytest.fixture
def server():
    with DemoServer(DemoAccount(seed=5, customers=30, now=NOW)) as running:
        yield running


def latest_events(server, count=5, **params):
    return [e.to_dict() for e in sdk_client(server.url).v1.events.list(params={"limit": count, **params}).data]


def test_create_update_delete_customer(server):
    client = sdk_client(server.url)
    created = client.v1.customers.create(params={"email": "new@example.com", "metadata": {"plan": "trial"}})
    assert (created.created, created.email, created.metadata.to_dict()) == (NOW, "new@example.com", {"plan": "trial"})
    assert client.v1.customers.list(params={"limit": 1}).data[0].id == created.id
    [event] = latest_events(server, 1)
    assert (event["type"], event["created"], event["data"]["object"]["id"]) == ("customer.created", NOW, created.id)

    server.advance_clock(60)
    updated = client.v1.customers.update(created.id, params={"email": "renamed@example.com",
                                                             "metadata": {"plan": "", "tier": "gold"}})
    assert (updated.email, updated.metadata.to_dict()) == ("renamed@example.com", {"tier": "gold"})
    [event] = latest_events(server, 1)
    assert (event["type"], event["created"]) == ("customer.updated", NOW + 60)
    assert event["data"]["previous_attributes"] == {"email": "new@example.com", "metadata": {"plan": "trial"}}
    assert client.v1.customers.retrieve(created.id).email == "renamed@example.com"

    deleted = client.v1.customers.delete(created.id)
    assert deleted.to_dict() == {"id": created.id, "object": "customer", "deleted": True}
    assert client.v1.customers.retrieve(created.id).to_dict() == deleted.to_dict()
    assert created.id not in [c["id"] for c in server.account.objects("customers")]
    assert latest_events(server, 1)[0]["type"] == "customer.deleted"


def test_deleting_a_customer_cancels_its_live_subscriptions(server):
    live = next(s for s in server.account.objects("subscriptions") if s["status"] == "active")
    requests.delete(f"{server.url}/v1/customers/{live['customer']}",
                    headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=10).raise_for_status()
    types = [e["type"] for e in latest_events(server, 2)]
    assert types == ["customer.deleted", "customer.subscription.deleted"]


def test_subscription_quantity_cancel_at_period_end_and_cancel(server):
    client = sdk_client(server.url)
    subscription = next(s for s in server.account.objects("subscriptions")
                        if s["status"] == "active" and not s["cancel_at_period_end"])
    item = subscription["items"]["data"][0]
    updated = client.v1.subscriptions.update(subscription["id"], params={"items": [{"id": item["id"], "quantity": 7}]})
    assert updated["items"].data[0].quantity == 7
    [event] = latest_events(server, 1)
    assert event["type"] == "customer.subscription.updated"
    assert event["data"]["previous_attributes"]["items"]["data"][0]["quantity"] == item["quantity"]
    items = client.v1.subscription_items.list(params={"subscription": subscription["id"]})
    assert items.data[0].quantity == 7

    flagged = client.v1.subscriptions.update(subscription["id"], params={"cancel_at_period_end": True})
    assert (flagged.cancel_at_period_end, flagged.cancel_at, flagged.status) == (
        True, item["current_period_end"], "active")
    assert latest_events(server, 1)[0]["data"]["previous_attributes"]["cancel_at_period_end"] is False

    canceled = client.v1.subscriptions.cancel(subscription["id"])
    assert (canceled.status, canceled.ended_at, canceled.canceled_at) == ("canceled", NOW, NOW)
    assert latest_events(server, 1)[0]["type"] == "customer.subscription.deleted"
    default_list = [s.id for s in client.v1.subscriptions.list(params={"limit": 100}).auto_paging_iter()]
    assert subscription["id"] not in default_list


def test_refunds_update_the_charge_and_refuse_too_much(server):
    client = sdk_client(server.url)
    charge = next(c for c in server.account.objects("charges") if c["status"] == "succeeded" and not c["refunded"]
                  and c["amount_refunded"] == 0 and c["amount"] > 100)
    refund = client.v1.refunds.create(params={"charge": charge["id"], "amount": 100})
    assert (refund.amount, refund.charge, refund.created) == (100, charge["id"], NOW)
    after = client.v1.charges.retrieve(charge["id"])
    assert (after.amount_refunded, after.refunded) == (100, False)
    assert [e["type"] for e in latest_events(server, 2)] == ["charge.refunded", "refund.created"]
    response = requests.post(f"{server.url}/v1/refunds", data={"charge": charge["id"], "amount": charge["amount"]},
                             headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["code"] == "amount_too_large"
    rest = client.v1.refunds.create(params={"charge": charge["id"]})
    assert rest.amount == charge["amount"] - 100
    assert client.v1.charges.retrieve(charge["id"]).refunded is True


def test_delete_coupon(server):
    client = sdk_client(server.url)
    coupon = server.account.objects("coupons")[0]
    assert client.v1.coupons.delete(coupon["id"]).deleted is True
    assert coupon["id"] not in [c.id for c in client.v1.coupons.list().data]
    [event] = latest_events(server, 1)
    assert (event["type"], event["data"]["object"]["id"]) == ("coupon.deleted", coupon["id"])


def test_clock_moves_mutation_times_and_event_retention(server):
    before = [(e["id"], e["created"]) for e in server.account.objects("events")]
    moved = requests.post(f"{server.url}/_demo/clock", json={"advance_seconds": 10 * DAY}, timeout=10).json()
    assert moved == {"clock": NOW + 10 * DAY}
    created = server.create_customer(email="later@example.com")
    assert created["created"] == NOW + 10 * DAY
    served = [e.id for e in sdk_client(server.url).v1.events.list(params={"limit": 100}).auto_paging_iter()]
    floor = NOW + 10 * DAY - 30 * DAY
    kept = [event_id for event_id, when in before if when >= floor]
    assert len(kept) < len(before)  # the clock pushed some events past Stripe's 30 days
    assert served[1:] == kept and len(served) == len(kept) + 1
