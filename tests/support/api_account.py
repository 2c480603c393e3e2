"""An account made to order on the demo server, through Stripe's API (the official SDK), synced by
the connector: the support layer of the rule tests that run on Stripe-shaped objects in today's API
version rather than on hand-built rows.

``ApiAccount`` starts an empty demo account (no simulated customers) at ``START``; a test creates
prices, coupons, tax rates and subscriptions with the SDK, moves the account clock (Stripe's billing
runs meanwhile: renewals, trial ends, failed payments, schedule phases; connector/demo/live.py), and
reads the MRR facts of a fresh (or incremental) sync as of the clock's day.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone

import stripe

from connector import refresh
from connector.http import RateLimiter, RetryPolicy
from connector.mrr import views
from connector.mrr.policy import load_policy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from tests.support.keys import CANARY_KEY

START = 1_793_491_200   # 2026-11-01 00:00 UTC
DAY = 86_400


def day_of(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).date().isoformat()


class ApiAccount:
    def __init__(self, server):
        self.server = server
        self.sdk = stripe.StripeClient(api_key=CANARY_KEY, base_addresses={"api": server.url},
                                       max_network_retries=0)
        self.provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(1000),
                                       retry_policy=RetryPolicy(max_attempts=3, max_seconds=10))
        self.stores: list = []

    def close(self) -> None:
        for store in self.stores:
            store.close()
        self.provider.close()

    # -- building the account through the API ---------------------------------------------------
    @property
    def clock(self) -> int:
        return self.server.account.clock

    def day(self, offset_days: int = 0) -> str:
        """The ISO day ``offset_days`` after the account's start."""
        return day_of(START + offset_days * DAY)

    def advance_to(self, offset_days: float) -> None:
        """Move the account clock to ``offset_days`` after the start (Stripe's billing runs meanwhile)."""
        self.server.advance_clock(int(START + offset_days * DAY) - self.clock)

    def price(self, amount: int, interval: str = "month", count: int = 1, currency: str = "usd",
              tax_behavior: str | None = None) -> str:
        params = {"currency": currency, "unit_amount": amount, "product_data": {"name": f"Plan {amount}"},
                  "recurring": {"interval": interval, "interval_count": count}}
        if tax_behavior:
            params["tax_behavior"] = tax_behavior
        return self.sdk.v1.prices.create(params=params).id

    def coupon(self, **params) -> str:
        return self.sdk.v1.coupons.create(params=params).id

    def tax_rate(self, percentage: float, inclusive: bool) -> str:
        return self.sdk.v1.tax_rates.create(params={"percentage": percentage, "inclusive": inclusive,
                                                    "display_name": "VAT"}).id

    def subscribe(self, price: str, quantity: int = 1, customer: str | None = None, **params) -> str:
        customer = customer or self.sdk.v1.customers.create(params={"email": "rule@example.com"}).id
        item = {"price": price, "quantity": quantity}
        if "item_tax_rates" in params:
            item["tax_rates"] = params.pop("item_tax_rates")
        return self.sdk.v1.subscriptions.create(params={"customer": customer, "items": [item], **params}).id

    def customer_of(self, subscription: str) -> str:
        return self.sdk.v1.subscriptions.retrieve(subscription).customer

    def update(self, subscription: str, **params) -> None:
        self.sdk.v1.subscriptions.update(subscription, params=params)

    def change_item(self, subscription: str, **item) -> None:
        """Items[0] of the subscription changed (price and/or quantity), ``proration_behavior`` etc. in item."""
        extra = {k: item.pop(k) for k in ("proration_behavior", "billing_cycle_anchor") if k in item}
        current = self.sdk.v1.subscriptions.retrieve(subscription).items.data[0].id
        self.update(subscription, items=[{"id": current, **item}], **extra)

    def cancel(self, subscription: str) -> None:
        self.sdk.v1.subscriptions.cancel(subscription)

    def refund_latest(self, subscription: str) -> None:
        """A full refund of the charge that paid the subscription's latest invoice, found as today's API
        links them: invoice -> invoice payment -> payment intent -> charge."""
        invoice = self.sdk.v1.subscriptions.retrieve(subscription).latest_invoice
        payment = self.sdk.v1.invoice_payments.list(params={"invoice": invoice}).data[0]
        charge = self.sdk.v1.charges.list(params={"payment_intent": payment.payment.payment_intent}).data[0]
        self.sdk.v1.refunds.create(params={"charge": charge.id})

    # -- syncing and reading --------------------------------------------------------------------
    def sync(self, store=None):
        """A sync as of the clock's day (a new store unless one is given); returns the store."""
        if store is None:
            store = open_store(None)
            store.bind_account(self.provider.identify())
            self.stores.append(store)
        clock = self.clock + 61   # the sync reads events up to now - 60 s: every change so far
        assert run_sync(store, self.provider, streams=list(self.provider.streams), workers=2,
                        clock=lambda: clock).failures == {}
        as_of = datetime.fromtimestamp(self.clock, tz=timezone.utc).date()
        refresh.refresh(store, refresh.policy_for(store, load_policy("default")), as_of=as_of)
        return store


@contextmanager
def facts(store, policy: str = "default", **overrides):
    """The store's facts under a policy (computed on the fly from its segments for another one)."""
    chosen = load_policy(policy, overrides) if (policy != "default" or overrides) else None
    try:
        with views.facts_for(store, chosen) as (shown, _info):
            yield shown
    except views.NoMrrData:   # no MRR ever, under any policy: the store's empty tables say so
        yield store


def movements(store, policy: str = "default", **overrides) -> list[tuple]:
    """(day, movement, amount_minor, cause) of every daily movement, in day order."""
    with facts(store, policy, **overrides) as shown:
        return [tuple(r) for r in shown.db.execute(
            "SELECT day, movement, amount_minor, cause FROM mrr_movements WHERE _deleted = 0 "
            "ORDER BY day, customer_id, movement")]


def mrr_on(store, day: str, policy: str = "default", **overrides) -> dict[str, int]:
    """MRR per currency on ``day``."""
    from connector.mrr import queries

    with facts(store, policy, **overrides) as shown:
        return {r["currency"]: r["mrr_minor"] for r in queries.current_mrr(shown, date.fromisoformat(day))}


MRR_TABLES = ("mrr_segments", "mrr_customer_runs", "mrr_movements", "mrr_customer_months", "mrr_monthly_metrics")


def mrr_tables(store) -> dict[str, list[tuple]]:
    """Every live row of the MRR tables (bookkeeping columns left out), sorted: two stores that hold
    the same facts compare equal."""
    tables = {}
    for name in MRR_TABLES:
        columns = [r[1] for r in store.db.execute(f"PRAGMA table_info({name})") if r[1] not in ("_seq", "_synced_at")]
        tables[name] = sorted(store.db.execute(f"SELECT {', '.join(columns)} FROM {name} WHERE _deleted = 0"))
    return tables
