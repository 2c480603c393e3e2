"""A server that ignores `created` filters (stripe-stateful-mock does): the sync stops slicing.

Without the check, each slice cut from a stream re-read the whole list and cut
more slices: a sync that never finished. With it, the first page that holds an
object outside its slice's range (the provider's paging chokepoint checks every
page against the range it asked for) drops the stream's slices and re-reads it
once by cursor only, so the stream is read a bounded number of times and the
store holds exactly the server's objects.
"""

from __future__ import annotations

import logging

import pytest

from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.providers.base import FilterIgnored
from connector.providers.paging import check_page
from tests.support.keys import CANARY_KEY

from tests.support.fakestripe import BASE, FakeStripe, customer

CUSTOMERS = 1_000  # ten pages
WORKERS = 1  # one page at a time: the order of pages, and so the requests counted, is fixed


def ignoring_created_filters(fake: FakeStripe) -> FakeStripe:
    honest_list = fake.page
    fake.page = lambda items, params, path: honest_list(
        items, {k: v for k, v in params.items() if not k.startswith("created")}, path)
    return fake


def sync_stream(fake: FakeStripe, rsps, stream: str = "customers", path: str = "/v1/customers"):
    """(the report, the ids stored, the params of each list request) of a sync of ``stream`` alone."""
    fake.install(rsps)
    provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000),
                              retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.01))
    store = open_store(None)
    store.bind_account(provider.identify())
    report = run_sync(store, provider, streams=[stream], workers=WORKERS, clock=lambda: 1_700_000_000)
    ids = sorted(r[0] for r in store.db.execute(f"select id from {stream} where _deleted = 0"))
    return report, ids, [params for called, params in fake.calls if called == path]


def test_the_sync_ends_with_every_object_and_a_bounded_number_of_requests(rsps, caplog):
    fake = ignoring_created_filters(FakeStripe({"customers": [customer(i, 1_600_000_000 + 60 * i)
                                                              for i in range(CUSTOMERS)]}))
    with caplog.at_level(logging.WARNING):
        report, ids, calls = sync_stream(fake, rsps)
    assert report.failures == {}
    assert ids == sorted(f"cus_{i:05d}" for i in range(CUSTOMERS))
    # the first page, the two slices cut from it (their pages hold objects outside their
    # ranges: the slices are dropped), then the ten pages again by cursor only
    assert len(calls) == 1 + 2 + 10
    assert not any(k.startswith("created") for params in calls[3:] for k in params)
    assert [r.getMessage() for r in caplog.records] == [
        "customers: the server ignores `created` filters; re-reading the stream by cursor only"]


def test_an_honest_server_is_still_sliced(rsps, caplog):
    fake = FakeStripe({"customers": [customer(i, 1_600_000_000 + 60 * i) for i in range(CUSTOMERS)]})
    with caplog.at_level(logging.WARNING):
        report, ids, calls = sync_stream(fake, rsps)
    assert report.failures == {} and len(ids) == CUSTOMERS and caplog.records == []
    assert any("created[lt]" in params for params in calls)
    assert len(calls) <= 14  # ten full pages and about one partial page per slice


@pytest.mark.parametrize(("created", "outside"), [
    ([150, 120], False), ([200, 120], True), ([150, 99], True), ([None, 150], False),
])
def test_a_page_is_checked_against_the_range_it_was_asked_for(created, outside):
    page = [{"id": f"cus_{i}", "created": c} for i, c in enumerate(created)]
    if outside:
        with pytest.raises(FilterIgnored, match="^/v1/customers returned objects created outside the range asked for"):
            check_page("/v1/customers", page, False, after=None, created_gte=100, created_lt=200)
    else:
        assert check_page("/v1/customers", page, False, after=None, created_gte=100, created_lt=200) is None
    assert check_page("/v1/customers", page, False, after=None) is None


def invoice_item(n: int, date: int) -> dict:
    """An invoice item as Stripe lists it: its creation time is ``date`` (it has no ``created``)."""
    return {"id": f"ii_{n:05d}", "object": "invoiceitem", "date": date, "customer": "cus_00001", "amount": 100,
            "currency": "usd", "livemode": False, "invoice": None, "quantity": 1}


def sync_invoice_items(fake: FakeStripe, rsps):
    return sync_stream(fake, rsps, "invoice_items", "/v1/invoiceitems")


def test_invoice_items_are_sliced_by_their_date(rsps, caplog):
    """Their list filters by ``created`` but the objects carry ``date``: read by ``created`` they had no
    time, so the stream was never sliced (one page after another, the whole account's items)."""
    fake = FakeStripe({"invoice_items": [invoice_item(i, 1_600_000_000 + 60 * i) for i in range(CUSTOMERS)]})
    with caplog.at_level(logging.WARNING):
        report, ids, calls = sync_invoice_items(fake, rsps)
    assert report.failures == {} and ids == sorted(f"ii_{i:05d}" for i in range(CUSTOMERS)) and caplog.records == []
    assert any("created[lt]" in params for params in calls)   # sliced
    assert len(calls) <= 14


def test_a_server_ignoring_created_filters_for_invoice_items_is_found_by_their_date(rsps, caplog):
    fake = ignoring_created_filters(FakeStripe({"invoice_items": [invoice_item(i, 1_600_000_000 + 60 * i)
                                                                  for i in range(CUSTOMERS)]}))
    with caplog.at_level(logging.WARNING):
        report, ids, calls = sync_invoice_items(fake, rsps)
    assert report.failures == {} and len(ids) == CUSTOMERS
    assert [r.getMessage() for r in caplog.records] == [
        "invoice_items: the server ignores `created` filters; re-reading the stream by cursor only"]
    page = [{"id": "ii_1", "date": 250}]
    with pytest.raises(FilterIgnored, match=r"\(date 250 not in \[100, 200\)\)"):
        check_page("/v1/invoiceitems", page, False, after=None, created_gte=100, created_lt=200, creation_field="date")


def test_a_re_read_from_the_start_meets_a_replaced_reads_cursors_without_a_false_alarm():
    """The fall-back re-reads a stream from its start while a page of the slice it dropped may still
    be in flight: that page's cursor is the re-read's too, later. A loop within one read is still found."""
    from connector.errors import PaginationError
    from connector.providers.paging import CursorLedger

    ledger, listing = CursorLedger(), ("customers", None, None)
    first = ledger.read(listing, None)
    ledger.handed(listing, first, "cus_a")
    in_flight = ledger.read(listing, "cus_a")          # a page of the first read, answered late
    assert in_flight == first
    again = ledger.read(listing, None)                 # the re-read from the start
    assert again != first
    ledger.handed(listing, again, "cus_a")
    ledger.follow(in_flight, "/v1/customers", "cus_b")
    ledger.handed(listing, in_flight, "cus_b")
    re_read = ledger.read(listing, "cus_a")
    assert re_read == again
    ledger.follow(re_read, "/v1/customers", "cus_b")   # the same cursor, another read: no alarm
    with pytest.raises(PaginationError, match="twice"):
        ledger.follow(re_read, "/v1/customers", "cus_b")   # twice within one read: a loop
