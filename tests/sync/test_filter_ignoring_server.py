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


def sync_customers(fake: FakeStripe, rsps):
    fake.install(rsps)
    provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000),
                              retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.01))
    store = open_store(None)
    store.bind_account(provider.identify())
    report = run_sync(store, provider, streams=["customers"], workers=WORKERS, clock=lambda: 1_700_000_000)
    ids = sorted(r[0] for r in store.db.execute("select id from customers where _deleted = 0"))
    return report, ids, [params for path, params in fake.calls if path == "/v1/customers"]


def test_the_sync_ends_with_every_object_and_a_bounded_number_of_requests(rsps, caplog):
    fake = ignoring_created_filters(FakeStripe({"customers": [customer(i, 1_600_000_000 + 60 * i)
                                                              for i in range(CUSTOMERS)]}))
    with caplog.at_level(logging.WARNING):
        report, ids, calls = sync_customers(fake, rsps)
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
        report, ids, calls = sync_customers(fake, rsps)
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
