"""Chargebee's published example responses (fixtures/chargebee_reference) through the adapter and the mapping.

They are trimmed: objects with a handful of fields, ``cf_*`` custom fields,
opaque offsets such as ``offset_page_2``. The adapter pages them as they are,
and the mapping reads them without failing (what it cannot place is reported).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from connector.mapping.chargebee import map_account
from connector.mrr.policy import load_policy
from connector.providers.chargebee import ChargebeeProvider
from connector.providers.chargebee_budget import MinuteBudget
from connector.providers.chargebee_catalog import PC2, STREAMS, streams_for
from connector.refresh import refresh
from connector.store import open_store
from connector.sync import resolve_streams, run_sync

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "chargebee_reference"
BASE = "https://acme-test.chargebee.com/api/v2"


def _load(name):
    return json.loads((REFERENCE / name).read_text())


def _provider():
    return ChargebeeProvider("acme-test", "test_key", budget=MinuteBudget(100), catalog_version="v2")


@responses.activate
@pytest.mark.parametrize("stream, first, second", [
    ("customers", "customer_page1.json", "customer_page2.json"),
    ("subscriptions", "subscription_page1.json", "subscription_page2.json"),
])
def test_published_pages_are_followed_by_their_opaque_offset(stream, first, second):
    responses.add(responses.GET, BASE + STREAMS[stream].path, json=_load(first))
    responses.add(responses.GET, BASE + STREAMS[stream].path, json=_load(second))
    pages = list(_provider().iter_pages(stream))
    resource = STREAMS[stream].resource
    assert [[o["id"] for o in p.objects] for p in pages] == [
        [e[resource]["id"] for e in _load(first)["list"]], [e[resource]["id"] for e in _load(second)["list"]]]
    sent = [responses.calls[i].request.params for i in range(2)]
    assert sent[0] == {"limit": "100", "sort_by[asc]": "created_at", "include_deleted": "true"}
    assert sent[1] == {**sent[0], "offset": "offset_page_2"}
    assert pages[1].objects[0][next(k for k in pages[1].objects[0] if k.startswith("cf_"))]   # custom fields kept


@responses.activate
def test_a_json_array_offset_is_sent_back_verbatim():
    plan_page = _load("plan.json")
    responses.add(responses.GET, BASE + "/plans", json=plan_page)
    responses.add(responses.GET, BASE + "/plans", json=_load("addon.json") | {"list": []})
    provider = ChargebeeProvider("acme-test", "test_key", budget=MinuteBudget(100), catalog_version="v1")
    page = provider.list_page("plans", page_token=None, updated_since=None)
    assert page.next_token == '["100","149000010672"]'
    last = provider.list_page("plans", page_token=page.next_token, updated_since=None)
    assert (last.objects, last.next_token) == ([], None)
    assert responses.calls[1].request.params["offset"] == '["100","149000010672"]'


def test_every_published_example_maps_without_failing():
    objects = {spec.name: [e[spec.resource] for e in _load(f"{spec.resource}.json")["list"]]
               for spec in STREAMS.values()}
    objects["customers"] += [e["customer"] for e in _load("subscription.json")["list"]]
    objects["subscriptions"] += [e["subscription"] for e in _load("subscription_multiple.json")["list"]]
    tables, flagged = map_account(objects)
    assert {n: len(r) for n, r in tables.items() if r} == {
        "billing_plans": 3, "billing_customers": 2, "billing_subscriptions": 3, "billing_subscription_items": 3,
        "billing_invoices": 1, "billing_credit_notes": 1,
    }
    assert sorted({(u["object_type"], u["reason"]) for u in flagged}) == [
        ("credit_note", "unknown credit note type None"),
        ("subscription_item", "price not found"),
    ]
    plans = {r["id"]: r for r in tables["billing_plans"]}
    assert (plans["tiered_plan"]["tiers_mode"], plans["tiered_plan"]["interval"]) == ("graduated", "month")
    assert plans["addon_001"]["type"] == "one_time"      # no period: a one-time addon


@responses.activate
def test_the_published_examples_go_through_the_sync_and_the_mrr_chain():
    # no configurations endpoint: the catalog version is told by the PC 2.0 list answering
    responses.add(responses.GET, BASE + "/configurations", status=404, json=_load("error_not_found.json"))
    for spec in streams_for(PC2).values():
        responses.add(responses.GET, BASE + spec.path, json=_load(f"{spec.resource}.json"))
    provider = ChargebeeProvider("acme-test", "test_key", budget=MinuteBudget(1000))
    store = open_store(None, provider="chargebee")
    store.bind_account(provider.identify())
    report = run_sync(store, provider, streams=resolve_streams(provider, None), workers=2)
    assert report.failures == {}
    counts = store.table_counts()
    assert {s: counts[s] for s in streams_for(PC2)} == {
        s.name: len(_load(f"{s.resource}.json")["list"]) for s in streams_for(PC2).values()}
    result = refresh(store, load_policy("chargebee", {}))
    assert result["mapped_customers"] >= 1
    assert store.db.execute("SELECT count(*) FROM _quarantine").fetchone() == (0,)
    subscription = _load("subscription.json")["list"][0]["subscription"]
    assert store.db.execute("SELECT customer_id FROM billing_subscriptions WHERE id = ?",
                            [subscription["id"]]).fetchone() == (subscription["customer_id"],)
