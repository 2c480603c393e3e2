"""How far each stream's frontier hands on work: far for the busiest list where endpoint budgets bind
(live mode) and for every stream where the account's limit binds (test mode), short for the others."""

from __future__ import annotations

from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.demand import EndpointDemand
from connector.sync.full import NESTED_BACKLOG, FullRead, new_full_state
from connector.sync.progress import Progress
from connector.sync.slices import FAR_REACH, PAGES_PER_SLICE, Slice, advance, chain_at
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
    nxt, splits = advance(Slice(), page, has_more=True, splittable=True, reach=32)
    assert nxt == Slice(gte=99_901 - 99 * 32, after="o99", after_created=99_901)
    assert splits == [Slice(lt=99_901 - 99 * 32)]
    bounded = Slice(gte=99_901 - 99 * 40, lt=100_001)   # 40 pages left: under 2 x 32
    assert advance(bounded, page, has_more=True, splittable=True, reach=32)[1] == []
    assert len(advance(bounded, page, has_more=True, splittable=True, reach=32, idle=True)[1]) == 1
    assert len(advance(bounded, page, has_more=True, splittable=True, reach=32, idle=5)[1]) == 1   # halved
    # on a server eight times slower than the reach was tuned for, a round trip cuts in more at once
    assert len(advance(bounded, page, has_more=True, splittable=True, reach=32, chain=32, idle=5)[1]) == 1
    assert len(advance(bounded, page, has_more=True, splittable=True, reach=32, chain=16, idle=5)[1]) == 2
    assert len(advance(bounded, page, has_more=True, splittable=True)[1]) == 1   # 40 > 2 x 8: halved


def test_on_a_slow_server_a_bounded_slice_splits_by_the_seconds_its_chain_would_take():
    # A slice is a chain of round trips: 32 pages are 8 s at 250 ms, 64 s at 2 s a request
    assert chain_at(32, None) == chain_at(32, 0.1) == chain_at(32, 0.25) == 32
    assert chain_at(32, 0.8) == 10 and chain_at(32, 2.0) == 4 and chain_at(8, 2.0) == 2
    page = [{"id": f"o{i}", "created": 100_000 - i} for i in range(100)]   # 99 s a page
    bounded = Slice(gte=99_901 - 99 * 40, lt=100_001)   # 40 pages left
    assert advance(bounded, page, has_more=True, splittable=True, reach=32)[1] == []
    nxt, pieces = advance(bounded, page, has_more=True, splittable=True, reach=32, chain=4)
    # cut at once into pieces of at most 8 pages (not halved once per round trip), covering the rest
    assert len(pieces) == 4 and nxt.gte == pieces[0].lt and pieces[-1].gte == bounded.gte
    assert all(newer.gte == older.lt and newer.lt - newer.gte <= 8 * 99 for newer, older in zip(pieces, pieces[1:]))
    # the frontier still hands on its whole reach (how fast a stream's work is found), its kept part cut too
    nxt, pieces = advance(Slice(), page, has_more=True, splittable=True, reach=32, chain=4)
    assert pieces[-1] == Slice(lt=99_901 - 99 * 32) and len(pieces) == 4 and pieces[-2].gte == 99_901 - 99 * 32


def slices_read(fake: FakeStripe, path: str) -> int:
    """Slices of a list read, each counted by its first request (a created range, no token)."""
    return sum(1 for pth, p in fake.calls if pth == path and "created[gte]" in p and "starting_after" not in p)


def test_a_slow_server_gets_the_stream_read_in_more_shorter_slices(rsps, monkeypatch):
    # no slice split for idle workers (how many are idle depends on the threads' timing): the cuts
    # counted are the chains' alone
    monkeypatch.setattr(FullRead, "_split_now", lambda self, pipeline: 0)
    counts = []
    for latency in (0.25, 2.0):
        fake = FakeStripe({"customers": [customer(i, START + i * 10) for i in range(10_000)]})   # 100 pages
        limiter = RateLimiter(1000)   # test mode: the account's limit alone
        limiter.latency = lambda seen=latency: seen   # as measured on such a server (the fake answers at once)
        store = sync(fake, rsps, limiter)
        assert live_ids(store, "customers") == sorted(fake.objects["customers"])
        counts.append(slices_read(fake, "/v1/customers"))
        rsps.reset()
    # at 250 ms every bounded slice keeps its 32 pages; at 2 s they are cut into chains of 8 at most
    assert counts[0] == 0 and counts[1] >= 6, counts


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


def test_a_stream_whose_requests_wait_at_the_limiter_splits_no_slice_for_idle_workers(rsps):
    """Requests already waiting for the endpoint's turn say it has slices enough: splitting one for
    idle workers would only add a partial page. Without them, idle workers get slices split off."""
    counts = {}
    for waiting in (0, 1):
        fake = FakeStripe({"customers": [customer(i, START + i * 10) for i in range(3000)]})
        fake.install(rsps)
        provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000), retry_policy=FAST_RETRIES)
        provider.list_waiting = lambda stream, waiting=waiting: waiting
        store = open_store(None)
        store.bind_account(provider.identify())
        assert run_sync(store, provider, streams=["customers"], workers=4, clock=lambda: 1_700_000_000).failures == {}
        assert live_ids(store, "customers") == sorted(fake.objects["customers"])
        calls = [p for path, p in fake.calls if path == "/v1/customers"]
        counts[waiting] = (len(calls), sum("created[gte]" in p and "starting_after" not in p for p in calls))
        rsps.reset()
    (requests_idle, splits_idle), (requests_busy, splits_busy) = counts[0], counts[1]
    # busy: no slice split off for idle workers (the frontier's hand-off keeps going): 30 pages and
    # the open slice's last, empty one
    assert splits_busy == 0 and requests_busy <= 30 + 2, counts
    assert splits_idle > splits_busy, counts



class _Spare:
    """A pipeline as a slice's split decision sees it: ``workers`` workers to spare."""

    def __init__(self, workers: int):
        self.workers = workers

    def spare_capacity(self) -> int:
        return self.workers


def _workers(idle: bool) -> _Spare:
    return _Spare(3 if idle else 0)


def invoices_read(demand: EndpointDemand, waiting: int) -> FullRead:
    provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(100, per_endpoint=25))   # live mode
    provider.list_waiting = lambda stream: waiting
    return FullRead(open_store(None), provider, "invoices", new_full_state(0, refresh=False), Progress(enabled=False),
                    demand=demand)


def test_a_stream_feeding_a_busier_nested_list_splits_early_and_one_whose_own_list_binds_does_not():
    lines_bind = EndpointDemand()
    lines_bind.observe("invoices", 1_000, {"invoice_line_items": 6})   # six line reads a page: lines bind
    assert invoices_read(lines_bind, waiting=3)._split_now(_workers(idle=False))
    own_list_binds = EndpointDemand()
    own_list_binds.observe("invoices", 1_000)   # one-line invoices: the invoices list itself is the busiest
    assert not invoices_read(own_list_binds, waiting=3)._split_now(_workers(idle=True))
    assert not invoices_read(own_list_binds, waiting=0)._split_now(_workers(idle=False))
    assert invoices_read(own_list_binds, waiting=0)._split_now(_workers(idle=True))


def test_idle_workers_get_no_more_slices_than_the_endpoint_can_keep_busy():
    """A slice is a chain of pages, one request out at a time: at 25/s and 250 ms about nine keep the
    endpoint at its budget (with the limiter's headroom); more would only end in more partial pages."""
    own_list_binds = EndpointDemand()
    own_list_binds.observe("invoices", 1_000)
    full = invoices_read(own_list_binds, waiting=0)
    assert full._split_now(_Spare(30)) == 30   # no latency seen yet: nothing known to bound it by
    full.limiter.latency = lambda: 0.25
    assert full.provider.list_in_flight_needed("invoices") == 9   # ceil(25/s x 0.25 s x 1.3)
    assert full._split_now(_Spare(30)) == 9 - len(full.slices)
    assert full._split_now(_Spare(3)) == 3   # the workers to spare bound it too
    full.slices.update({n: Slice(gte=n, lt=n + 1) for n in range(100, 108)})
    assert len(full.slices) == 9 and full._split_now(_Spare(30)) == 0


def test_where_the_account_binds_a_list_is_kept_busy_up_to_the_account_rate():
    limiter = RateLimiter(25, per_endpoint=25)   # test mode
    limiter.latency = lambda: 0.5
    assert limiter.endpoint_in_flight_needed("/v1/invoices") == 17   # ceil(25 x 0.5 x 1.3)
    unbudgeted = RateLimiter(100)
    unbudgeted.latency = lambda: 0.25
    assert unbudgeted.endpoint_in_flight_needed("/v1/invoices") == 33   # the account's rate alone
    assert RateLimiter(100).endpoint_in_flight_needed("/v1/invoices") is None   # no latency seen yet


def test_a_stream_feeding_a_busier_nested_list_stops_splitting_early_once_that_list_has_work_queued():
    lines_bind = EndpointDemand()
    lines_bind.observe("invoices", 1_000, {"invoice_line_items": 6})
    full = invoices_read(lines_bind, waiting=3)
    full.pending = {("invoice_line_items", f"in_{n}") for n in range(NESTED_BACKLOG - 1)}
    assert full._split_now(_workers(idle=False)) == 1   # the lines' endpoint could still run short of work
    full.pending.add(("invoice_line_items", "in_last"))
    assert full._split_now(_workers(idle=False)) == 0   # ten seconds of line reads wait: the usual rule
    idle = invoices_read(lines_bind, waiting=0)
    idle.pending = set(full.pending)
    idle.limiter.latency = lambda: 0.25
    assert idle._split_now(_Spare(30)) == 9 - len(idle.slices)   # no more slices than the invoices' endpoint takes
