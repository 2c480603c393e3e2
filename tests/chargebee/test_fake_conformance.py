"""The fake site is held to Chargebee's own definitions.

Every object of every list, retrieve and event the fake serves validates
against the official SDK's typed models (field names, types, enum values); the
envelopes and error bodies have the shapes of Chargebee's published examples
(fixtures/chargebee_reference, copied from Airbyte's source-chargebee tests).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from connector.demo_chargebee import DEFAULT_KEY
from connector.providers.chargebee_catalog import EVENTS, STREAMS
from tests.support.chargebee.sdk_models import entry_problems, problems

# Chargebee's published example responses (MIT, from Airbyte's source-chargebee; see its README).
REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "chargebee_reference"


def _get(server, path, key=DEFAULT_KEY, **params):
    return requests.get(server.url + path, params=params, auth=(key, ""), timeout=10)


def _all_entries(server, spec):
    params = dict(spec.full_params)
    if spec.name in ("item_families", "items", "item_prices", "plans", "addons"):
        params.pop("include_deleted", None)
    entries, offset = [], None
    while True:
        body = _get(server, spec.path, **params, **({"offset": offset} if offset else {})).json()
        assert set(body) <= {"list", "next_offset"}
        entries += body["list"]
        offset = body.get("next_offset")
        if offset is None:
            return entries
        assert isinstance(offset, str)


@pytest.mark.parametrize("which", ["site", "legacy_site"])
def test_every_listed_object_validates_against_the_sdk(which, request, serve):
    site = request.getfixturevalue(which)
    server = serve(site)
    found = []
    for name in site.objects:
        spec = EVENTS if name == "events" else STREAMS[name]
        for entry in _all_entries(server, spec):
            found += entry_problems(spec.resource, entry)
            if name == "events":
                for key, value in entry["event"]["content"].items():
                    resource = key.removesuffix("s") if isinstance(value, list) else key
                    for obj in value if isinstance(value, list) else [value]:
                        found += problems(resource, obj)
    assert found == []


def test_retrieves_validate_against_the_sdk(site, serve):
    server = serve(site)
    found = []
    for name, objs in site.objects.items():
        spec = EVENTS if name == "events" else STREAMS[name]
        for obj in objs[:3] + objs[-2:]:
            body = _get(server, f"{spec.path}/{obj['id']}").json()
            assert spec.resource in body
            found += problems(spec.resource, body[spec.resource])
    configs = _get(server, "/configurations").json()
    found += [p for c in configs["configurations"] for p in problems("configuration", c)]
    assert found == []


def test_the_validator_catches_invented_fields_and_values():
    assert problems("subscription", {"id": "s", "status": "past_due", "trialing": True}) == [
        "subscription.status: 'past_due' is not one of the SDK's Status values",
        "subscription: field 'trialing' is not in the SDK's SubscriptionResponse",
    ]
    assert problems("invoice", {"line_items": [{"amount": "100"}]}) == [
        "invoice.line_items.amount: str where the SDK declares <class 'int'>"]


def _keys(path):
    return json.loads((REFERENCE / path).read_text())


@pytest.mark.parametrize("status, reference, trigger", [
    (401, "401.json", lambda s: _get(s, "/customers", key="wrong")),
    (404, "404.json", lambda s: _get(s, "/customers/nope")),
])
def test_error_bodies_have_chargebees_shape(status, reference, trigger, site, serve):
    response = trigger(serve(site))
    assert response.status_code == status
    body, expected = response.json(), _keys(reference)
    assert set(body) == set(expected)
    assert body["api_error_code"] == expected["api_error_code"]
    assert body["http_status_code"] == status


def test_the_429_body_is_chargebees(site, serve):
    server = serve(site, per_minute=1)
    _get(server, "/customers")
    response = _get(server, "/customers")
    assert response.status_code == 429
    assert response.json() == _keys("429.json")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_configuration_incompatible_has_the_reference_code(legacy_site, serve):
    response = _get(serve(legacy_site), "/item_prices")
    reference = _keys("error_configuration_incompatible.json")
    assert response.status_code == 400
    assert response.json()["api_error_code"] == reference["api_error_code"]
    assert set(reference) <= set(response.json())


@pytest.mark.parametrize("reference, stream", [
    ("customer.json", "customers"), ("subscription.json", "subscriptions"), ("invoice.json", "invoices"),
    ("credit_note.json", "credit_notes"), ("coupon.json", "coupons"), ("item.json", "items"),
    ("item_price.json", "item_prices"), ("item_family.json", "item_families"), ("transaction.json", "transactions"),
    ("event.json", "events"), ("unbilled_charge.json", "unbilled_charges"),
])
def test_list_envelopes_match_the_published_examples(reference, stream, site, serve):
    spec = EVENTS if stream == "events" else STREAMS[stream]
    expected = _keys(reference)["list"][0]
    body = _get(serve(site), spec.path, limit="1").json()
    entry = body["list"][0]
    assert set(entry) == set(expected)            # the same wrapping (subscription entries carry the customer)
    assert isinstance(body.get("next_offset"), str)
    shared = set(entry[spec.resource]) & set(expected[spec.resource])
    for field in shared:                           # the fields both show have the same JSON types
        assert type(entry[spec.resource][field]) is type(expected[spec.resource][field]) or (
            isinstance(entry[spec.resource][field], (int, float)) and isinstance(expected[spec.resource][field], (int, float))
        ), (stream, field)


def test_pages_are_disjoint_and_complete_with_include_deleted(site, serve):
    server = serve(site)
    ids = [e["customer"]["id"] for e in _all_entries(server, STREAMS["customers"])]
    assert ids == [c["id"] for c in sorted(site.objects["customers"], key=lambda c: (c["created_at"], c["id"]))]
    live = _get(server, "/customers", limit="100").json()["list"]
    assert len(live) == sum(1 for c in site.objects["customers"] if not c["deleted"])


def test_filters_and_sorts_the_fake_understands(site, serve):
    server = serve(site)
    body = _get(server, "/subscriptions", limit="100", **{"status[is]": "non_renewing"}).json()
    assert {e["subscription"]["status"] for e in body["list"]} == {"non_renewing"}
    body = _get(server, "/invoices", limit="5", **{"sort_by[desc]": "date"}).json()
    dates = [e["invoice"]["date"] for e in body["list"]]
    assert dates == sorted(dates, reverse=True) and dates[0] == max(i["date"] for i in site.objects["invoices"])
    refused = _get(server, "/invoices", **{"sort_by[asc]": "total"})
    assert refused.status_code == 400 and refused.json()["api_error_code"] == "param_wrong_value"
    assert _get(server, "/coupons", include_deleted="true").status_code == 400
    assert _get(server, "/unbilled_charges", **{"updated_at[after]": "1"}).status_code == 400
    assert _get(server, "/customers", limit="101").status_code == 400
