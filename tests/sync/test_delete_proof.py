"""An object is soft-deleted only on Stripe's proof: its JSON `resource_missing` error or `deleted: true`."""

from __future__ import annotations

import pytest

from connector.providers.stripe_errors import NotFound
from connector.sync import run_sync

from tests.support.fakestripe import small_account
from tests.support.syncing import STREAMS, provider, synced_store



HTML_404 = (404, {"Content-Type": "text/html"}, "<html><body><h1>404 Not Found</h1>nginx</body></html>")


def change_then_resync(fake, rsps, answer):
    """Sync, then an event names sub_00001 and its detail endpoint gives `answer`; the second sync's report."""
    store, _ = synced_store(fake, rsps)
    cursor = store.get_state("subscriptions")["events_cursor"]
    fake.add_event("customer.subscription.updated", {"id": "sub_00001", "object": "subscription"}, cursor + 10)
    fake.faults.append((r"/v1/subscriptions/sub_00001", lambda params: answer(fake)))
    report = run_sync(store, provider(), streams=STREAMS, workers=4, clock=lambda: cursor + 3600)
    return store, report


def live(store, sql):
    return store.db.execute(sql).fetchall()


@pytest.mark.parametrize("answer", [
    lambda fake: HTML_404,  # a proxy's page
    lambda fake: fake.reply({"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}, 404),
], ids=["html-404", "json-404-without-code"])
def test_a_404_without_resource_missing_deletes_nothing_and_fails_the_stream(rsps, answer):
    store, report = change_then_resync(small_account(customers=3), rsps, answer)
    assert live(store, "select _deleted from subscriptions where id = 'sub_00001'") == [(0,)]
    assert live(store, "select count(*) from subscription_items where subscription = 'sub_00001' and _deleted = 0") == [(2,)]
    error = report.failures["subscriptions"]
    assert isinstance(error, NotFound) and error.exit_code == 4
    assert str(error) == (
        "GET /v1/subscriptions/sub_00001 answered 404 without Stripe's resource_missing error (a proxy, or "
        "STRIPE_API_BASE not pointing at Stripe?); nothing was marked deleted: run sync again"
    )
    # the stream's cursor stays, so the next run asks again
    assert store.get_state("subscriptions")["events_cursor"] < 1_700_000_000


@pytest.mark.parametrize("answer", [
    lambda fake: fake.error(404, "resource_missing", "No such subscription: 'sub_00001'", param="id"),
    lambda fake: fake.reply({"id": "sub_00001", "object": "subscription", "deleted": True}),
], ids=["resource-missing", "deleted-true"])
def test_stripes_own_proof_soft_deletes_the_object_and_its_items(rsps, answer):
    store, report = change_then_resync(small_account(customers=3), rsps, answer)
    assert report.failures == {}
    assert live(store, "select _deleted from subscriptions where id = 'sub_00001'") == [(1,)]
    assert live(store, "select count(*) from subscription_items where subscription = 'sub_00001' and _deleted = 0") == [(0,)]


def test_deleted_false_or_a_string_is_not_a_delete(rsps):
    def answer(fake):
        return fake.reply({**fake.public(fake.objects["subscriptions"]["sub_00001"]), "deleted": "no"})

    store, report = change_then_resync(small_account(customers=3), rsps, answer)
    assert report.failures == {}
    assert live(store, "select _deleted from subscriptions where id = 'sub_00001'") == [(0,)]
