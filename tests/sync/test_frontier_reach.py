"""How far each stream's frontier hands on work: far for the busiest list where endpoint budgets bind
(live mode) and for every stream where the account's limit binds (test mode), short for the others."""

from __future__ import annotations

from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.demand import EndpointDemand
from connector.sync.slices import FAR_REACH, PAGES_PER_SLICE, Slice, advance
from tests.support.fakestripe import BASE, FakeStripe, customer
from tests.support.keys import CANARY_KEY
from tests.support.syncing import FAST_RETRIES, live_ids

START = 1_600_000_000


def charge(n: int, created: int) -> dict:
    return {"id": f"ch_{n:05d}", "object": "charge", "created": created, "livemode": False, "status": "succeeded",
            "amount": 100, "currency": "usd"}


def dense_and_sparse() -> FakeStripe:
    """10,000 customers 10 s apart (a page spans 990 s) and 10,000 charges 100 s apart (9,900 s)."""
    return FakeStripe({"customers": [customer(i, START + i * 10) for i in range(10_000)],
                       "charges": [charge(i, START + i * 100) for i in range(10_000)]})


def sync(fake: FakeStripe, rsps, limiter: RateLimiter):
    fake.install(rsps)
    provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=limiter, retry_policy=FAST_RETRIES)
    store = open_store(None)
    store.bind_account(provider.identify())
    report = run_sync(store, provider, streams=["customers", "charges"], workers=4, clock=lambda: 1_700_000_000)
    assert report.failures == {}
    return store


def frontier_steps(fake: FakeStripe, path: str, page_seconds: int) -> list[float]:
    """Pages' worth of time between one open slice's upper bound and the next one's: what each
    frontier step handed on (its reach, plus the page it read)."""
    bounds = [int(p["created[lt]"]) for pth, p in fake.calls
              if pth == path and "created[lt]" in p and "created[gte]" not in p and "starting_after" not in p]
    return [(upper - lower) / page_seconds for upper, lower in zip(bounds, bounds[1:])]


def test_where_endpoint_budgets_bind_only_the_busiest_list_reaches_far(rsps):
    fake = dense_and_sparse()
    store = sync(fake, rsps, RateLimiter(1000, per_endpoint=250))   # live mode: endpoints bind
    assert live_ids(store, "customers") == sorted(fake.objects["customers"])
    assert live_ids(store, "charges") == sorted(fake.objects["charges"])
    dense, sparse = frontier_steps(fake, "/v1/customers", 1000), frontier_steps(fake, "/v1/charges", 10_000)
    assert dense and all(step >= FAR_REACH - 1 for step in dense), dense
    # its first steps may come before the dense list's first page was seen; the later ones are short
    assert sum(step <= PAGES_PER_SLICE + 2 for step in sparse) >= 3, sparse


def test_where_the_account_binds_every_stream_reaches_far(rsps):
    fake = dense_and_sparse()
    store = sync(fake, rsps, RateLimiter(1000))   # test mode: the account's limit alone
    assert live_ids(store, "charges") == sorted(fake.objects["charges"])
    assert all(step >= FAR_REACH - 1 for step in frontier_steps(fake, "/v1/customers", 1000))
    sparse = frontier_steps(fake, "/v1/charges", 10_000)
    assert sparse and all(step >= FAR_REACH - 1 for step in sparse), sparse


def test_advance_hands_on_the_reach_asked_for_and_splits_a_shorter_slice_only_when_idle():
    page = [{"id": f"o{i}", "created": 100_000 - i} for i in range(100)]   # 99 s a page
    nxt, split = advance(Slice(), page, has_more=True, splittable=True, reach=32)
    assert nxt == Slice(gte=99_901 - 99 * 32, after="o99", after_created=99_901)
    assert split == Slice(lt=99_901 - 99 * 32)
    bounded = Slice(gte=99_901 - 99 * 40, lt=100_001)   # 40 pages left: under 2 x 32
    assert advance(bounded, page, has_more=True, splittable=True, reach=32)[1] is None
    assert advance(bounded, page, has_more=True, splittable=True, reach=32, idle=True)[1] is not None
    assert advance(bounded, page, has_more=True, splittable=True)[1] is not None   # 40 > 2 x 8


def test_the_busiest_list_is_the_one_needing_most_requests_per_second_of_history():
    demand = EndpointDemand()
    assert not demand.is_busiest("customers")   # nothing seen yet
    demand.observe("charges", 10_000)
    demand.observe("customers", 1_000)
    demand.observe("customers", 1_000)
    assert demand.is_busiest("customers") and not demand.is_busiest("charges")
    demand.observe("invoice_items", 1_200)   # within 80 % of the busiest: both bind
    assert demand.is_busiest("invoice_items") and demand.is_busiest("customers")
    # invoices as dense as customers, each page bringing six line reads: the lines endpoint binds
    demand.observe("invoices", 1_000, {"invoice_line_items": 6})
    assert not demand.is_busiest("customers") and not demand.is_busiest("invoices")
