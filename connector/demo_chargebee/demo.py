"""End to end on the fake site: serve it, read every stream with the adapter under the budget, map it.

``python -m connector.demo_chargebee`` prints what was read and mapped, straight
from the adapter to the pure mapping (no store). ``billing-connector demo
--provider chargebee`` is the whole chain: sync into a store, map, MRR.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..mapping.chargebee import map_account
from ..providers.chargebee import ChargebeeProvider
from ..providers.chargebee_budget import MinuteBudget, budget_for
from .account import build_site
from .server import DEFAULT_KEY, FakeChargebee


@dataclass
class DemoRun:
    catalog_version: str
    read: dict[str, int] = field(default_factory=dict)        # stream -> objects read
    requests: dict[str, int] = field(default_factory=dict)    # stream -> HTTP requests
    rows: dict[str, int] = field(default_factory=dict)        # neutral table -> rows
    unclassified: int = 0
    budget_per_minute: int = 0
    busiest_minute: int = 0
    rate_limited: int = 0


def run_demo(*, customers: int = 48, seed: int = 1, catalog: str = "v2", plan: str = "starter",
             share: float = 0.5) -> DemoRun:
    """Read the whole fake site through the adapter and map it; the figures of the run."""
    site = build_site(seed=seed, customers=customers, catalog=catalog)
    per_minute = budget_for(plan, share)
    with FakeChargebee(site, per_minute=150) as server:
        provider = ChargebeeProvider(site.name, DEFAULT_KEY, budget=MinuteBudget(per_minute), api_base=server.url)
        run = DemoRun(provider.detect_catalog_version(), budget_per_minute=per_minute)
        objects = {}
        for name in [*provider.streams, "events"]:
            before = provider.requests_made
            objects[name] = [o for page in provider.iter_pages(name) for o in page.objects]
            run.read[name] = len(objects[name])
            run.requests[name] = provider.requests_made - before
        run.busiest_minute = max(server.stats.windows.values())
        run.rate_limited = server.stats.rate_limited
    tables, flagged = map_account(objects)
    run.rows = {name: len(rows) for name, rows in tables.items()}
    run.unclassified = len(flagged)
    return run


def render(run: DemoRun) -> list[str]:
    lines = [f"Chargebee site on Product Catalog {run.catalog_version[1:]}.0 "
             f"(budget {run.budget_per_minute} requests/minute)", "", "read (objects, requests):"]
    lines += [f"  {name:<18} {count:>6} {run.requests[name]:>4}" for name, count in run.read.items()]
    lines += ["", "neutral rows:"]
    lines += [f"  {name:<28} {count:>6}" for name, count in run.rows.items()]
    lines += ["", f"unclassified: {run.unclassified}; busiest minute: {run.busiest_minute} requests; "
                  f"429s: {run.rate_limited}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connector.demo_chargebee",
                                     description="Read and map a fake Chargebee site end to end.")
    parser.add_argument("--customers", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--catalog", choices=("v2", "v1"), default="v2")
    args = parser.parse_args(argv)
    for line in render(run_demo(customers=args.customers, seed=args.seed, catalog=args.catalog)):
        print(line)
    return 0
