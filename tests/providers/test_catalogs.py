"""Each provider's catalog is complete and the sync reads nothing but it.

Adding an object to a provider is one catalog entry plus a test: these checks
fail when an entry lacks its raw table, permission, change events or a known
way to stay up to date, and when the sync layer names a provider or one of its
objects itself.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from connector.providers import chargebee_catalog, stripe_catalog
from connector.providers.base import (
    INCREMENTAL_BY_EVENTS, INCREMENTAL_BY_FULL_READ, INCREMENTAL_BY_UPDATED_SINCE, child_streams,
)
from connector.store.raw_chargebee import RAW_TABLES as CHARGEBEE_TABLES
from connector.store.migrations import PROVIDER_TABLES
from connector.store.raw_stripe import RAW_TABLES as STRIPE_TABLES

CATALOGS = {
    "stripe": (stripe_catalog.STREAMS, STRIPE_TABLES),
    "chargebee": (chargebee_catalog.STREAMS, CHARGEBEE_TABLES),
}
SYNC = pathlib.Path(__file__).resolve().parents[2] / "connector" / "sync"


@pytest.mark.parametrize("provider", CATALOGS)
def test_every_stream_has_its_table_permission_events_and_a_way_to_stay_current(provider):
    streams, tables = CATALOGS[provider]
    assert PROVIDER_TABLES[provider][1] is tables       # the store registers exactly these tables
    for name, spec in streams.items():
        assert spec.name == name and name in tables, name
        assert spec.permission, name
        assert spec.incremental in (INCREMENTAL_BY_EVENTS, INCREMENTAL_BY_UPDATED_SINCE, INCREMENTAL_BY_FULL_READ)
        if spec.incremental == INCREMENTAL_BY_EVENTS:
            assert spec.event_routes, f"{name}: no event touches it, so its changes would never be applied"
        else:
            assert spec.update_field or spec.incremental == INCREMENTAL_BY_FULL_READ, name
        if provider == "chargebee":
            assert spec.events, f"{name}: no event type names it"
        for child in spec.child_lists:
            assert child.table in tables, child.table
            assert child.parent_column in {c for c, _, _ in tables[child.table].columns}, child.table
        for field in spec.known_values:
            assert spec.known_values[field], (name, field)
    assert "events" in tables


def test_stripe_routes_every_kind_of_changed_object_to_its_streams():
    def event(obj):
        return {"id": "evt_1", "created": 5, "data": {"object": obj}}

    route = stripe_catalog.changed_objects
    assert route(event({"object": "customer", "id": "cus_1"})) == [("customers", "cus_1")]
    assert route(event({"object": "discount", "customer": "cus_1", "subscription": {"id": "sub_1"}})) == [
        ("customers", "cus_1"), ("subscriptions", "sub_1")]
    assert route(event({"object": "invoice_payment", "id": "inpay_1", "invoice": "in_1"})) == [("invoices", "in_1")]
    assert route(event({"object": "refund", "id": "re_1", "charge": "ch_1"})) == [("charges", "ch_1"), ("refunds", "re_1")]
    assert route(event({"object": "invoiceitem", "id": "ii_1"})) == [("invoice_items", "ii_1")]
    assert route(event({"object": "test_helpers.test_clock", "id": "clock_1"})) == []
    assert route({"id": "evt_2", "data": "not an object"}) == []


def test_chargebee_routes_an_event_by_its_type_to_the_object_in_its_content():
    event = {"id": "ev_1", "occurred_at": 7, "event_type": "subscription_changed",
             "content": {"subscription": {"id": "sub_1"}, "customer": {"id": "cus_1"}}}
    assert chargebee_catalog.changed_objects(event) == [("subscriptions", "sub_1")]
    assert chargebee_catalog.event_time(event) == 7
    assert chargebee_catalog.changed_objects({**event, "event_type": "subscription_renewal_reminder"}) == []


@pytest.mark.parametrize("provider", CATALOGS)
def test_child_tables_name_their_parent_stream(provider):
    streams, _ = CATALOGS[provider]
    for child, parent in child_streams(streams).items():
        assert child in {c.table for c in streams[parent].child_lists}


def test_the_sync_layer_imports_no_provider_module_and_names_no_provider_object():
    provider_names = {name for streams, _ in CATALOGS.values() for name in streams} - {"events"}
    for path in SYNC.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module.split(".")
                assert not any(part in ("stripe", "stripe_catalog", "chargebee", "chargebee_catalog", "streams")
                               for part in module), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in provider_names, f"{path.name} names the stream {node.value!r}"
                assert "/v1/" not in node.value, f"{path.name} names a Stripe endpoint: {node.value!r}"
