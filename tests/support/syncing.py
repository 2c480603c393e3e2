"""The sync driven against a FakeStripe installed in `responses`.

``provider`` is a StripeProvider on the fake's address with the canary key and
retries that wait milliseconds; ``synced_store`` runs one sync into an in-memory
store at a fixed clock.
"""

from __future__ import annotations

from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from tests.support.fakestripe import BASE
from tests.support.keys import CANARY_KEY

FAST_RETRIES = RetryPolicy(max_attempts=4, max_seconds=5, initial_wait=0.001, max_wait=0.01)
STREAMS = ["customers", "subscriptions", "invoices"]


def provider(retry: RetryPolicy = FAST_RETRIES, api_base: str = BASE, key: str = CANARY_KEY) -> StripeProvider:
    return StripeProvider(key, api_base=api_base, limiter=RateLimiter(1000), retry_policy=retry)


def synced_store(fake, rsps, streams=STREAMS, **kwargs):
    fake.install(rsps)
    p = provider()
    store = open_store(None)
    store.bind_account(p.identify())
    report = run_sync(store, p, streams=streams, workers=4, clock=lambda: 1_700_000_000, **kwargs)
    return store, report


def live_ids(store, table):
    return sorted(r[0] for r in store.db.execute(f"select id from {table} where _deleted = 0").fetchall())
