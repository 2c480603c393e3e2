"""A changed coupon or item price remaps the customers that use it, not the whole site.

The incremental store must still hold exactly what a fresh full sync of the changed site
holds (neutral and MRR tables, row for row); the customers remapped are those whose
subscriptions, invoices or credit notes name the changed objects.
"""

from __future__ import annotations

import json


from connector.demo_chargebee import DEFAULT_KEY, NOW, FakeChargebee, build_site
from connector.demo_chargebee.mutations import change_coupon, change_item_price
from connector.mapping import chargebee_store
from tests.support.cli import run_cli
from tests.support.store_checks import snapshot


def sync(server, db):
    env = {"CHARGEBEE_API_KEY": DEFAULT_KEY, "CHARGEBEE_API_BASE": server.url}
    result = run_cli(["sync", "--provider", "chargebee", "--site", "acme-test", "--db", str(db), "--quiet"],
                     base=None, key=None, env=env)
    assert result.exit_code == 0, result.output


def derived(db):
    return {name: rows for name, rows in snapshot(db).items() if name.startswith(("billing_", "mrr_"))}


def naming(site, object_ids):
    """Customers whose subscriptions, invoices or credit notes name one of ``object_ids``."""
    return {o["customer_id"] for stream in ("subscriptions", "invoices", "credit_notes")
            for o in site.objects[stream] if any(f'"{i}"' in json.dumps(o) for i in object_ids)}


def test_a_coupon_and_a_price_change_remap_their_customers_only_and_equal_a_fresh_sync(tmp_path, monkeypatch):
    site = build_site(seed=5, customers=40)
    with FakeChargebee(site, per_minute=1000) as server:
        sync(server, tmp_path / "nightly.db")
        price = next(i["item_price_id"] for s in site.objects["subscriptions"] if s["status"] == "active"
                     for i in s.get("subscription_items", []))
        server.mutate(change_coupon, "SUMMER10", NOW + 3600, {"discount_percentage": 20.0})
        server.mutate(change_item_price, price, 12345, NOW + 3601)

        remapped: list[str] = []
        original = chargebee_store._Mapping.write_customers

        def recording(self, customer_ids):
            remapped.extend(customer_ids)
            return original(self, customer_ids)

        monkeypatch.setattr(chargebee_store._Mapping, "write_customers", recording)
        sync(server, tmp_path / "nightly.db")
        monkeypatch.undo()
        sync(server, tmp_path / "fresh.db")

    expected = naming(site, {"SUMMER10", price})
    everyone = {c["id"] for c in site.objects["customers"]}
    assert expected and set(remapped) == expected and len(expected) < len(everyone) / 2
    assert derived(tmp_path / "nightly.db") == derived(tmp_path / "fresh.db")


def test_past_the_limit_everyone_is_remapped(tmp_path, monkeypatch):
    monkeypatch.setattr(chargebee_store, "TARGETED_REMAP_LIMIT", 0)
    site = build_site(seed=5, customers=12)
    with FakeChargebee(site, per_minute=1000) as server:
        sync(server, tmp_path / "nightly.db")
        server.mutate(change_coupon, "SUMMER10", NOW + 3600, {"discount_percentage": 20.0})
        remapped: list[str] = []
        original = chargebee_store._Mapping.write_customers
        monkeypatch.setattr(chargebee_store._Mapping, "write_customers",
                            lambda self, ids: (remapped.extend(ids), original(self, ids))[1])
        sync(server, tmp_path / "nightly.db")
    everyone = {c["id"] for c in site.objects["customers"]}
    assert set(remapped) >= everyone - {c["id"] for c in site.objects["customers"] if c.get("deleted")}
