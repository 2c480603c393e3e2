"""One fake account per provider behind one interface, so a sync test runs against both.

``FakeAccount`` starts the provider's own fake server (the Stripe demo server or
the fake Chargebee site, each held to its provider's definitions by its own
tests), connects the adapter to it and knows what a complete copy holds:
``server_counts`` (live objects per stream), ``change`` (a customer updated,
one deleted, a subscription cancelled, through the server) and the clock a
sync must use to see those changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector.demo.server import DemoServer
from connector.demo_chargebee import DEFAULT_KEY, NOW, FakeChargebee, build_site
from connector.demo_chargebee.mutations import cancel_subscription, change_quantity, delete_customer
from connector.http import RateLimiter, RetryPolicy
from connector.providers.chargebee import ChargebeeProvider
from connector.providers.chargebee_budget import MinuteBudget
from connector.providers.stripe import StripeProvider
from connector.store import Store, open_store
from connector.sync import resolve_streams, run_sync
from tests.support.keys import CANARY_KEY

FAST_RETRIES = RetryPolicy(max_attempts=4, max_seconds=30, initial_wait=0.01, max_wait=0.05)


@dataclass
class FakeAccount:
    name: str
    server: Any
    make_provider: Callable[[], Any]
    counts: Callable[[], dict[str, int]]
    apply_change: Callable[[], None]
    # Seconds a sync's clock runs ahead once something changed: Stripe's events pass stays
    # 60 s behind now, so the sync after a change steps past that instead of waiting.
    skew_after_change: float = 0.0
    skew: float = 0.0
    providers: list[Any] = field(default_factory=list)

    def clock(self) -> float:
        return time.time() + self.skew

    def provider(self):
        """A connected adapter that has identified its account (as `sync` does before choosing streams)."""
        made = self.make_provider()
        self.identity = made.identify()
        self.providers.append(made)
        return made

    def open_store(self, path=None) -> Store:
        provider = self.provider()
        store = open_store(path, provider=provider.name)
        store.bind_account(self.identity)
        return store

    def sync(self, store: Store, **knobs):
        provider = self.provider()
        streams = resolve_streams(provider, None)
        return run_sync(store, provider, streams=streams, workers=4, clock=self.clock, **knobs)

    def server_counts(self) -> dict[str, int]:
        return self.counts()

    def change(self) -> None:
        self.apply_change()
        self.skew = self.skew_after_change


def _stripe(tmp_customers: int) -> tuple[FakeAccount, Callable[[], None]]:
    server = DemoServer(customers=tmp_customers, seed=5).__enter__()

    def provider():
        return StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500), retry_policy=FAST_RETRIES)

    def counts():
        streams = ("customers", "products", "prices", "coupons", "subscriptions", "invoices", "charges", "refunds")
        return {s: len(server.account.objects(s)) for s in streams}

    def change():
        customers = sorted(c["id"] for c in server.account.objects("customers"))
        subs = sorted(s["id"] for s in server.account.objects("subscriptions") if s["status"] == "active")
        server.update_customer(customers[0], email="changed@example.com")
        server.delete_customer(customers[1])
        server.cancel_subscription(subs[0])

    account = FakeAccount("stripe", server, provider, counts, change, skew_after_change=120)
    return account, lambda: server.__exit__(None, None, None)


def _chargebee(tmp_customers: int) -> tuple[FakeAccount, Callable[[], None]]:
    site = build_site(seed=5, customers=tmp_customers)
    server = FakeChargebee(site, per_minute=100_000).start()

    def provider():
        return ChargebeeProvider(site.name, DEFAULT_KEY, budget=MinuteBudget(100_000, 4), api_base=server.url,
                                 retry_policy=FAST_RETRIES)

    def counts():
        return {stream: site.count(stream, include_deleted=False) for stream in site.objects if stream != "events"}

    def change():
        subs = [s for s in site.objects["subscriptions"] if s["status"] == "active" and not s["deleted"]]
        per_unit = next(s for s in subs if any("quantity" in i and "unit_price" in i for i in s["subscription_items"]))
        item = next(i for i in per_unit["subscription_items"] if "quantity" in i and "unit_price" in i)
        other = next(c for c in site.objects["customers"] if not c["deleted"] and c["id"] != per_unit["customer_id"]
                     and c["id"] != subs[0]["customer_id"])
        server.mutate(cancel_subscription, subs[0]["id"], NOW + 3600)
        server.mutate(change_quantity, per_unit["id"], item["item_price_id"], item["quantity"] + 4, NOW + 3601)
        server.mutate(delete_customer, other["id"], NOW + 3602)

    return FakeAccount("chargebee", server, provider, counts, change), server.stop


ACCOUNTS = {"stripe": _stripe, "chargebee": _chargebee}
