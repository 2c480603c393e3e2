"""Every request the connector sends, and every answer it gets, held to Stripe's definitions.

A full sync of every stream, then changes upstream (an update, a deletion, a
cancellation, a refund, a deleted coupon), an incremental sync and the access
probes of ``auth``/``doctor``, all against a demo server that records each exchange. Each request: its path is an endpoint the
SDK's services know, each query parameter is declared by that endpoint's params
(``created[...]`` keys included, values of the declared type or ``Literal``),
each ``expand[]`` target resolves to an expandable field within four levels, and
``Stripe-Version`` is the pinned one. Each answer: validated with the request's
own expansions (``ResponseChecker``), so a reference the connector did not expand
must come back as an id.
"""

from __future__ import annotations

import json
import time

import pytest

from connector.demo import DemoServer
from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from tests.support.keys import CANARY_KEY

from tests.support.contract.request_check import RequestChecker, answer_class, find_endpoint
from tests.support.contract.response_check import ResponseChecker
from tests.support.contract.stripe_schema import object_name_of

NOW = None  # the wall clock: the incremental pass must see the mutations' events


def expansions(query: list[tuple[str, str]]) -> list[str]:
    return [value for key, value in query if key == "expand" or key.startswith("expand[")]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    with DemoServer(customers=40, seed=7, record=True) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(1000))
        store = open_store(tmp_path_factory.mktemp("contract") / "billing.db")
        try:
            store.bind_account(provider.identify())
            streams = list(provider.streams)
            full = run_sync(store, provider, streams=streams, workers=4)
            customers = [r[0] for r in store.db.execute("select id from customers where _deleted = 0 order by id")]
            active = [r[0] for r in store.db.execute("select id from subscriptions where status = 'active' order by id")]
            charge = store.db.execute("select id from charges where status = 'succeeded' and amount_refunded = 0 "
                                      "order by id").fetchone()[0]
            coupon = store.db.execute("select id from coupons where _deleted = 0 order by id").fetchone()[0]
            full_requests = len(server.exchanges)
            server.update_customer(customers[0], email="changed@example.com")
            server.delete_customer(customers[1])
            server.cancel_subscription(active[0])
            server.create_refund(charge=charge, amount=100)
            server.delete_coupon(coupon)
            # the sync stays 60 s behind now: step its clock past that instead of waiting
            incremental = run_sync(store, provider, streams=streams, workers=4, clock=lambda: time.time() + 120)
            # what `auth` and `doctor` send: one probe per stream, events included
            refused = {stream: provider.check_stream_access(stream) for stream in [*streams, "events"]}
            assert refused == {stream: None for stream in refused}
        finally:
            store.close()
            provider.close()
        yield server.exchanges, full_requests, full, incremental


def test_both_syncs_succeed_and_the_incremental_one_reads_changes(recorded):
    exchanges, full_requests, full, incremental = recorded
    assert (full.failures, incremental.failures) == ({}, {})
    assert incremental.full_reads == [] and incremental.objects_refetched >= 4
    assert len(exchanges) > full_requests


def test_every_request_is_one_stripe_defines(recorded):
    exchanges, *_ = recorded
    checker = RequestChecker()
    for exchange in exchanges:
        checker.check(exchange.method, exchange.path, exchange.query, exchange.stripe_version)
    problems = checker.summary()
    assert not problems, "\n".join(problems)
    # what was exercised: every list of the catalog, details, nested lists and events
    templates = {template for _, template in checker.endpoints_seen}
    assert {"/v1/account", "/v1/customers", "/v1/subscriptions", "/v1/invoices", "/v1/events",
            "/v1/invoices/{invoice}/lines", "/v1/subscription_items", "/v1/customers/{customer}",
            "/v1/subscriptions/{subscription_exposed_id}"} <= templates, templates
    assert checker.expansions > 0
    print(f"contract: {checker.requests} requests, {checker.params} query parameters, "
          f"{checker.expansions} expansions checked over {len(templates)} endpoints")


def test_every_answer_the_connector_got_is_one_stripe_would_send(recorded):
    exchanges, *_ = recorded
    checker = ResponseChecker()
    for exchange in exchanges:
        if exchange.status != 200:
            checker.check_error(json.loads(exchange.body))
            continue
        endpoint = find_endpoint(exchange.method, exchange.path)
        cls, is_list = answer_class(endpoint)
        checker.check_body(json.loads(exchange.body), object_name_of(cls), expansions(exchange.query), is_list)
    problems = checker.summary()
    assert not problems, "\n".join(problems)
    # the connector's expansions really came back expanded: discounts with their coupons, tiers
    assert {("Subscription", "discounts"), ("Invoice", "discounts"), ("Discount.Source", "coupon")} <= \
        checker.expanded_seen, checker.expanded_seen
    print(f"contract: {checker.responses} answers, {checker.objects} objects, {checker.fields} fields checked")


def test_the_recording_never_holds_the_key(recorded):
    exchanges, *_ = recorded
    assert all(CANARY_KEY not in repr(exchange.query) and CANARY_KEY.encode() not in exchange.body
               for exchange in exchanges)
