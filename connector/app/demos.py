"""The demo jobs: a bundled fake account (Stripe) or site (Chargebee) served on 127.0.0.1, synced, its MRR shown.

No key or network: the fake server speaks the provider's API for a
deterministic synthetic account and stops when the job ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..config import Settings
from ..store import Store
from ..sync import SyncReport
from ..sync_health import last_sync
from .syncing import sync

# A recognisably fake key for the bundled demo server; it unlocks nothing anywhere else.
DEMO_API_KEY = "sk_test_demo_billing_connector_0000"


@contextlib.contextmanager
def _demo_key(variable: str, key: str) -> Iterator[None]:
    """The demo server's fake key in ``variable`` while the demo runs; the previous value restored."""
    previous = os.environ.get(variable)
    os.environ[variable] = key
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous


def demo(settings: Settings, *, customers: int, seed: int, quiet: bool = True) -> tuple[SyncReport, Store]:
    """Start the bundled demo account on 127.0.0.1, sync it into ``settings.db``, stop it."""
    from ..demo.server import DemoServer

    with DemoServer(seed=seed, customers=customers) as server:
        demo_settings = replace(settings, provider="stripe", api_base=server.url,
                                api_key_env="BILLING_CONNECTOR_DEMO_KEY")
        # The demo server has no rate limit; Stripe's 25/s (per account or per
        # endpoint) would only make the demo slow.
        if demo_settings.max_requests_per_second is None:
            demo_settings = replace(
                demo_settings, max_requests_per_second=500.0, max_requests_per_second_per_endpoint=500.0
            )
        with _demo_key("BILLING_CONNECTOR_DEMO_KEY", DEMO_API_KEY):
            return sync(demo_settings, quiet=quiet)


@dataclass
class ChargebeeDemo:
    report: SyncReport
    store: Store
    site: str
    site_day: date                 # the fake site's "now": MRR is shown on that day
    budget_per_minute: int
    busiest_minute: int            # the most requests the server saw in one minute
    server_429s: int


def demo_chargebee(settings: Settings, *, customers: int, seed: int, quiet: bool = True) -> ChargebeeDemo:
    """Serve the fake Chargebee site on 127.0.0.1, sync it into ``settings.db`` under a test site's
    budget (the Starter limit, 150/minute, of which the configured share), stop it.

    Computed under the ``chargebee`` MRR preset unless a policy was configured.
    """
    from ..connections import chargebee_budget
    from ..demo_chargebee import DEFAULT_KEY, NOW, FakeChargebee, build_site
    from ..providers.chargebee import API_KEY_ENV

    site = build_site(seed=seed, customers=customers)
    with FakeChargebee(site) as server:
        demo_settings = replace(settings, provider="chargebee", chargebee_site=site.name,
                                chargebee_api_base=server.url)
        if settings.sources.get("policy", "default") == "default":
            demo_settings = replace(demo_settings, policy="chargebee")
        with _demo_key(API_KEY_ENV, DEFAULT_KEY):
            report, store = sync(demo_settings, quiet=quiet)
        busiest = max(server.stats.windows.values(), default=0)
        rejected = server.stats.rate_limited
    return ChargebeeDemo(report, store, site.name, datetime.fromtimestamp(NOW, tz=timezone.utc).date(),
                         chargebee_budget(demo_settings, site.name), busiest, rejected)


@dataclass
class DemoRun:
    """What `demo` shows: the sync, the store's rows per table, the MRR summary and report (when every
    stream synced), and for the Chargebee site its budget and our MRR beside Chargebee's own."""

    report: SyncReport
    counts: dict[str, int]
    summary: dict[str, Any] | None
    html_path: Path | None
    last: dict[str, Any]
    chargebee: ChargebeeDemo | None = None
    reconciliation: list[dict[str, Any]] | None = None

    @property
    def as_of(self) -> date | None:
        return self.chargebee.site_day if self.chargebee is not None else None


def run_demo(settings: Settings, *, provider: str, customers: int, seed: int, quiet: bool, report_path) -> DemoRun:
    """The whole `demo`: serve, sync, summarise, write the HTML report; the store closed at the end."""
    from ..report.html import write_report
    from ..report.summary import summary_rows

    chargebee = None
    if provider == "chargebee":
        chargebee = demo_chargebee(settings, customers=customers, seed=seed, quiet=quiet)
        report, store, as_of = chargebee.report, chargebee.store, chargebee.site_day
    else:
        report, store = demo(settings, customers=customers, seed=seed, quiet=quiet)
        as_of = None
    try:
        run = DemoRun(report, store.table_counts(), None, None, last_sync(store), chargebee)
        if not report.failures:
            run.summary = summary_rows(store, as_of=as_of)
            run.html_path = write_report(store, report_path)
        if chargebee is not None:
            run.reconciliation = _reconciliation(store, as_of)
        return run
    finally:
        store.close()


def _reconciliation(store: Store, day: date) -> list[dict[str, Any]]:
    """Ours beside the provider's own total per currency (explain CUSTOMER shows it per subscription)."""
    from ..mrr.provider_mrr import provider_mrr_totals
    from ..mrr.queries import current_mrr
    from ..output_values import money

    theirs = provider_mrr_totals(store)
    ours = {row["currency"]: row["mrr_minor"] for row in current_mrr(store, day)}
    return [{"currency": currency.upper(), "ours": money(ours.get(currency, 0), currency),
             "chargebee": money(theirs.get(currency, 0), currency)}
            for currency in sorted(ours.keys() | theirs.keys())]
