"""Sync at the request level: pagination, nested lists, retries, failures, idempotence, events."""

from __future__ import annotations

import json

import pytest

from connector.errors import AuthError, PaginationError, PermissionDenied, UpstreamUnavailable
from connector.sync import run_sync
from connector.sync.slices import Slice, advance
from tests.support.fakestripe import FakeStripe, customer, small_account
from tests.support.keys import CANARY_KEY
from tests.support.syncing import STREAMS, live_ids, provider, synced_store


def test_full_sync_reads_every_object_and_complete_nested_lists(rsps):
    fake = small_account()
    store, report = synced_store(fake, rsps)
    assert report.failures == {}
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])
    assert live_ids(store, "subscriptions") == sorted(fake.objects["subscriptions"])
    all_items = sorted(i["id"] for s in fake.objects["subscriptions"].values() for i in s["_all_items"])
    all_lines = sorted(l["id"] for inv in fake.objects["invoices"].values() for l in inv["_all_lines"])
    assert live_ids(store, "subscription_items") == all_items
    assert live_ids(store, "invoice_line_items") == all_lines
    # the 12-item subscription and the 14-line invoice were followed to the end
    assert fake.cursors("/v1/subscription_items") == [None, ]  # one page of 100 holds all 12
    assert fake.cursors("/v1/invoices/in_00005/lines") == [None]
    assert store.db.execute("select count(*) from subscription_items where subscription='sub_00003'").fetchone()[0] == 12
    assert store.get_state("customers")["phase"] == "incremental"


def test_second_sync_with_no_change_writes_nothing(rsps):
    fake = small_account()
    store, _ = synced_store(fake, rsps)
    seq = store.current_seq()
    states = store.all_states()
    p = provider()
    report = run_sync(store, p, streams=STREAMS, workers=4, clock=lambda: 1_700_000_100)
    assert report.failures == {} and report.full_reads == []
    assert store.current_seq() == seq
    assert {k: v["state"] for k, v in store.all_states().items()} == {k: v["state"] for k, v in states.items()}


def test_large_stream_is_split_into_created_slices_without_duplicates_or_gaps(rsps):
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000 + i * 60) for i in range(2500)]})
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])
    list_calls = [p for path, p in fake.calls if path == "/v1/customers"]
    assert any("created[gte]" in p for p in list_calls), "no slice was split off"
    # Nearly every request returns useful data: at most a few partial/empty pages beyond 25.
    assert 25 <= len(list_calls) <= 25 + 12


def test_slice_advance_splits_the_frontier_and_dense_ranges():
    page = [{"id": f"o{i}", "created": 1000 - i} for i in range(100)]
    nxt, splits = advance(Slice(), page, has_more=True, splittable=True)
    assert nxt == Slice(gte=901 - 99 * 8, lt=None, after="o99", after_created=901)
    assert splits == [Slice(gte=None, lt=901 - 99 * 8)]
    done, none = advance(nxt, page[:3], has_more=False, splittable=True)
    assert (done, none) == (None, [])
    ascending = list(reversed(page))
    nxt, splits = advance(Slice(), ascending, has_more=True, splittable=True)
    assert splits == [] and nxt.after == "o0"


def test_a_page_of_one_second_splits_nothing():
    """100 objects of one second say nothing of how dense the rest is (an invoice's hundred items)."""
    page = [{"id": f"o{i}", "created": 1000} for i in range(100)]
    nxt, splits = advance(Slice(gte=0, lt=2000), page, has_more=True, splittable=True, idle=True)
    assert splits == [] and nxt == Slice(gte=0, lt=2000, after="o99", after_created=1000)
    nxt, splits = advance(Slice(), page, has_more=True, splittable=True, idle=True)
    assert splits == [] and nxt == Slice(after="o99", after_created=1000)


def test_objects_created_in_bursts_are_read_with_few_partial_pages(rsps):
    """Twelve bursts of 250 objects, each in one second, a day apart: splitting inside a burst's
    seconds made slices of nothing (49 requests for 30 pages)."""
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000 + (i // 250) * 86_400) for i in range(3000)]})
    store, _ = synced_store(fake, rsps, streams=["customers"])
    assert len(live_ids(store, "customers")) == 3000
    assert len([p for path, p in fake.calls if path == "/v1/customers"]) <= 30 + 5


def test_429_storm_is_retried_and_honours_retry_after(rsps):
    fake = small_account(customers=5)
    hits = {"n": 0}

    def storm(params):
        hits["n"] += 1
        if hits["n"] <= 3:
            return 429, {"Retry-After": "0", "Content-Type": "application/json"}, json.dumps(
                {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}
            )
        return None

    fake.faults.append((r"/v1/customers", storm))
    store, report = synced_store(fake, rsps)
    assert report.failures == {}
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])


def test_persistent_500_keeps_earlier_pages_and_resumes_at_the_failed_page(rsps):
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000) for i in range(450)]})  # one second: no splits
    fail = {"on": True}

    def page_four(params):
        if fail["on"] and params.get("starting_after") == "cus_00150":
            return 500, {"Content-Type": "application/json"}, json.dumps({"error": {"type": "api_error", "message": "boom"}})
        return None

    fake.faults.append((r"/v1/customers", page_four))
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert isinstance(report.failures["customers"], UpstreamUnavailable)
    assert len(live_ids(store, "customers")) == 300
    assert store.get_state("customers")["slices"][0]["after"] == "cus_00150"
    fail["on"] = False
    fake.calls.clear()
    report = run_sync(store, provider(), streams=["customers"], workers=4, clock=lambda: 1_700_000_000)
    assert report.failures == {}
    assert fake.cursors("/v1/customers")[0] == "cus_00150"
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])


@pytest.mark.parametrize("body", ["<html>oops</html>", '{"object": "list", "data": [{"id": "cus_'])
def test_malformed_or_truncated_200_is_a_transport_failure_not_an_empty_page(rsps, body):
    fake = small_account(customers=5)
    fake.faults.append((r"/v1/customers", lambda params: (200, {"Content-Type": "application/json"}, body)))
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert isinstance(report.failures["customers"], UpstreamUnavailable)
    assert live_ids(store, "customers") == []
    assert store.get_state("customers")["slices"] == [Slice().to_state()]


def test_forbidden_stream_fails_alone_and_names_the_permission(rsps):
    fake = small_account(customers=5)
    fake.faults.append((r"/v1/invoices", lambda p: fake.error(403, "permission_denied", "rak_invoice_read")))
    store, report = synced_store(fake, rsps)
    assert set(report.failures) == {"invoices"}
    error = report.failures["invoices"]
    assert isinstance(error, PermissionDenied) and "Invoices: Read" in str(error)
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])


def test_has_more_with_empty_page_fails_loudly(rsps):
    fake = small_account(customers=5)
    fake.faults.append((r"/v1/customers", lambda p: fake.reply({"object": "list", "data": [], "has_more": True})))
    store, report = synced_store(fake, rsps, streams=["customers"])
    assert isinstance(report.failures["customers"], PaginationError)


def test_wrong_key_is_an_auth_error_without_the_key(rsps):
    fake = small_account(customers=1)
    fake.faults.append((r"/v1/account", lambda p: fake.error(401, None, "Invalid API Key provided: sk_test_****9Zq")))
    fake.install(rsps)
    with pytest.raises(AuthError) as info:
        provider().identify()
    assert CANARY_KEY not in str(info.value)


def test_events_refetch_changed_objects_and_soft_delete_deleted_ones(rsps):
    fake = small_account(customers=5)
    store, _ = synced_store(fake, rsps)
    cursor = store.get_state("customers")["events_cursor"]
    changed = dict(fake.objects["customers"]["cus_00001"], email="new@example.com")
    fake.objects["customers"]["cus_00001"] = changed
    fake.add_event("customer.updated", {"id": "cus_00001", "object": "customer", "email": "stale-payload"}, cursor + 10)
    gone = fake.objects["customers"].pop("cus_00002")
    fake.add_event("customer.deleted", {"id": gone["id"], "object": "customer"}, cursor + 20)
    report = run_sync(store, provider(), streams=STREAMS, workers=4, clock=lambda: cursor + 3600)
    assert report.failures == {} and report.objects_refetched == 2
    data = json.loads(store.db.execute("select data from customers where id='cus_00001'").fetchone()[0])
    assert data["email"] == "new@example.com"  # from the detail endpoint, not the event payload
    assert store.db.execute("select _deleted from customers where id='cus_00002'").fetchone() == (1,)
    assert store.get_state("customers")["events_cursor"] == cursor + 3600 - 60


def test_cursor_older_than_30_days_rereads_the_stream_in_full(rsps, caplog):
    fake = small_account(customers=5)
    store, _ = synced_store(fake, rsps)
    fake.calls.clear()
    gone = fake.objects["customers"].pop("cus_00004")
    report = run_sync(store, provider(), streams=STREAMS, workers=4, clock=lambda: 1_700_000_000 + 31 * 86400)
    assert set(report.full_reads) == set(STREAMS)
    assert "older than the 30 days" in caplog.text
    assert store.db.execute("select _deleted from customers where id=?", [gone["id"]]).fetchone() == (1,)
    assert CANARY_KEY not in caplog.text
