"""`python -m connector.demo_chargebee`: the fake site read and mapped end to end."""

from __future__ import annotations

from connector.demo_chargebee import build_site
from connector.demo_chargebee.demo import main, render, run_demo


def test_the_demo_reads_every_object_and_maps_it_within_the_budget():
    run = run_demo(customers=16, seed=5)
    site = build_site(seed=5, customers=16)
    assert run.catalog_version == "v2"
    assert run.read == {name: len(site.objects[name]) for name in run.read}
    assert set(run.read) == set(site.objects)
    assert run.rows["billing_subscriptions"] == sum(1 for s in site.objects["subscriptions"] if not s["deleted"])
    assert (run.unclassified, run.rate_limited, run.budget_per_minute) == (0, 0, 75)
    assert run.busiest_minute <= 75
    lines = render(run)
    assert lines[0] == "Chargebee site on Product Catalog 2.0 (budget 75 requests/minute)"
    assert lines[-1] == f"unclassified: 0; busiest minute: {run.busiest_minute} requests; 429s: 0"


def test_the_demo_reads_a_product_catalog_1_site(capsys):
    assert main(["--customers", "5", "--catalog", "v1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Chargebee site on Product Catalog 1.0")
    assert "  plans" in out and "item_prices" not in out
