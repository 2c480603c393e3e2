"""Invariants, checked over many shapes (hypothesis): paging the fake never loses or repeats a record,
and the budget never lets more than its share into any sixty seconds."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.demo_chargebee import build_site
from connector.demo_chargebee.api import SiteApi
from connector.providers.chargebee_budget import MinuteBudget
from tests.support.chargebee.clock import FakeClock

SITE = build_site(seed=7, customers=20)
API = SiteApi(SITE, line_items_embedded=3)


@settings(max_examples=40, deadline=None)
@given(
    stream=st.sampled_from(["customers", "subscriptions", "invoices", "transactions", "events", "item_prices", "plans"]),
    limit=st.integers(min_value=1, max_value=100),
    descending=st.booleans(),
    include_deleted=st.booleans(),
)
def test_paging_returns_every_matching_record_once_in_order(stream, limit, descending, include_deleted):
    if stream == "plans":
        status, body = API.handle("/api/v2/plans", {})
        assert (status, body["api_error_code"]) == (400, "configuration_incompatible")
        return
    sort = {"invoices": "date", "transactions": "date", "events": "occurred_at", "item_prices": "id"}.get(stream, "created_at")
    params = {"limit": str(limit), f"sort_by[{'desc' if descending else 'asc'}]": sort}
    takes_deleted = stream in ("customers", "subscriptions", "invoices", "transactions")
    if include_deleted and takes_deleted:
        params["include_deleted"] = "true"
    resource = {"customers": "customer", "subscriptions": "subscription", "invoices": "invoice",
                "transactions": "transaction", "events": "event", "item_prices": "item_price"}[stream]
    got, offset = [], None
    while True:
        status, body = API.handle(f"/api/v2/{stream}", {**params, **({"offset": offset} if offset else {})})
        assert status == 200
        assert len(body["list"]) <= limit
        got += [e[resource] for e in body["list"]]
        offset = body.get("next_offset")
        if offset is None:
            break
        json.loads(offset)          # opaque to clients, but Chargebee-shaped
    expected = [o for o in SITE.objects[stream] if params.get("include_deleted") or not o.get("deleted")]
    numeric = sort != "id"
    expected.sort(key=lambda o: ((o[sort] if numeric else str(o[sort])), o["id"]), reverse=descending)
    assert [o["id"] for o in got] == [o["id"] for o in expected]
    if stream == "invoices":     # embedded line lists are cut to one batch and say where the rest is
        assert all(len(o["line_items"]) <= 3 for o in got)
        assert all(("line_items_next_offset" in o) == (len(SITE_INVOICES[o["id"]]["line_items"]) > 3) for o in got)


SITE_INVOICES = {i["id"]: i for i in SITE.objects["invoices"]}


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.integers(min_value=1, max_value=30),
    gaps=st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=120),
    limited_at=st.sets(st.integers(min_value=0, max_value=119), max_size=4),
    retry_after=st.one_of(st.none(), st.integers(min_value=0, max_value=90)),
)
def test_the_budget_never_lets_more_than_its_share_into_any_minute(per_minute, gaps, limited_at, retry_after):
    clock = FakeClock(start=0.0)
    budget = MinuteBudget(per_minute, concurrency=1, clock=clock.as_clock())
    starts, blocked_until = [], 0.0
    for i, gap in enumerate(gaps):
        clock.advance(gap)
        with budget.request():
            starts.append(clock.now())
            assert clock.now() >= blocked_until          # nothing before a Retry-After has passed
        if i in limited_at:
            budget.on_rate_limited(retry_after)
            blocked_until = clock.now() + (60 if retry_after is None else retry_after)
    for start in starts:
        assert sum(1 for s in starts if start <= s < start + 60) <= per_minute
