"""A sync against `stripe-stateful-mock`, a second stateful fake Stripe written by others.

The account is built through the official `stripe` SDK (customers, products,
prices, plans, subscriptions with items, charges, refunds), synced with the
connector, and every stream's rows are compared with what the mock itself lists.
The mock ignores ``created[...]`` filters and lists 250 customers: the sync must
still end, with the right rows, in a bounded number of requests (it used to cut
slices without end: 1,176 requests in 60 s). It has no ``/v1/account``, so the
store is bound to ``acct_unknown_test`` as with localstripe.

Skipped, with the reason, only when npm cannot install the package.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from connector.errors import PaginationError
from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from tests.support.keys import CANARY_KEY

from tests.support.integration.stateful_mock_server import ensure_installed, running_stateful_mock
from tests.support.integration.store_view import live_objects

STREAMS = ["customers", "products", "prices", "plans", "subscriptions", "charges", "refunds"]
PATHS = {"customers": "/v1/customers", "products": "/v1/products", "prices": "/v1/prices", "plans": "/v1/plans",
         "subscriptions": "/v1/subscriptions", "charges": "/v1/charges", "refunds": "/v1/refunds"}
CUSTOMERS, SUBSCRIPTIONS, CHARGES, REFUNDS = 250, 40, 130, 30
REQUEST_BUDGET = 500  # a sync that loops fails here, by name, instead of never ending


class BudgetedProvider(StripeProvider):
    def _get(self, path, params, **kwargs):
        if self.requests_made >= REQUEST_BUDGET:
            raise PaginationError(f"{path}: more than {REQUEST_BUDGET} requests; the sync is looping")
        return super()._get(path, params, **kwargs)


def seed(client: stripe.StripeClient) -> None:
    """Build the account through the SDK, as a merchant's code would."""
    v1 = client.v1
    products = [v1.products.create(params={"name": name}) for name in ("Starter", "Pro", "Seats")]
    for index, product in enumerate(products):
        v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 1000 * (index + 1),
                                 "recurring": {"interval": "month"}})
        v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 5000})
    plans = [v1.plans.create(params={"product": product.id, "currency": "usd", "amount": 1500 * (index + 1),
                                     "interval": "month" if index < 2 else "year"})
             for index, product in enumerate(products)]
    customers = [v1.customers.create(params={"email": f"customer{n}@example.com", "name": f"Customer {n}",
                                             "metadata": {"n": str(n)}})
                 for n in range(CUSTOMERS)]
    for n in range(SUBSCRIPTIONS):
        items = [{"plan": plans[(n + k) % len(plans)].id, "quantity": 1 + (n + k) % 4} for k in range(1 + n % 3)]
        v1.subscriptions.create(params={"customer": customers[n].id, "items": items})
    charges = [v1.charges.create(params={"amount": 1000 + n, "currency": "usd", "source": "tok_visa",
                                         "description": f"charge {n}"})
               for n in range(CHARGES)]
    for n in range(REFUNDS):
        v1.refunds.create(params={"charge": charges[n].id, "amount": 100 + n})


def upstream(base: str, path: str) -> dict[str, dict[str, Any]]:
    """Every object the mock lists at ``path``, paged with its own cursor."""
    objects: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        body = requests.get(base + path, params=params, auth=(CANARY_KEY, ""), timeout=30).json()
        objects.update((obj["id"], obj) for obj in body["data"])
        if not body["has_more"]:
            return objects
        cursor = body["data"][-1]["id"]


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    reason = ensure_installed()
    if reason is not None:
        pytest.skip(reason)
    with running_stateful_mock(CANARY_KEY) as base:
        seed(stripe.StripeClient(api_key=CANARY_KEY, base_addresses={"api": base}, max_network_retries=0))
        provider = BudgetedProvider(CANARY_KEY, api_base=base, limiter=RateLimiter(1000))
        store = open_store(tmp_path_factory.mktemp("stateful_mock") / "billing.db")
        try:
            store.bind_account(provider.identify())
            report = run_sync(store, provider, streams=STREAMS, workers=4)
            held = {stream: upstream(base, path) for stream, path in PATHS.items()}
            stored = {table: live_objects(store, table) for table in [*STREAMS, "subscription_items"]}
            yield report, provider.requests_made, held, stored
        finally:
            store.close()
            provider.close()


def test_the_sync_ends_and_reads_every_stream(synced):
    report, requests_made, held, _ = synced
    assert report.failures == {}
    assert {stream: len(objects) for stream, objects in held.items()} == {
        "customers": CUSTOMERS, "products": 3, "prices": 6, "plans": 3, "subscriptions": SUBSCRIPTIONS,
        "charges": CHARGES, "refunds": REFUNDS,
    }
    # 10 full lists: about twice the pages of the streams that span several (the slices cut
    # before the ignored filter showed), once the others, plus the account probe
    print(f"stateful-mock: {requests_made} requests")
    assert requests_made <= 30, requests_made


def test_every_stream_holds_exactly_the_mocks_objects(synced):
    _, _, held, stored = synced
    for stream in STREAMS:
        assert stored[stream] == held[stream], stream


def test_subscription_items_are_every_items_of_every_subscription(synced):
    _, _, held, stored = synced
    items = {item["id"]: item for sub in held["subscriptions"].values() for item in sub["items"]["data"]}
    assert len(items) == sum(1 + n % 3 for n in range(SUBSCRIPTIONS))
    assert stored["subscription_items"] == items
