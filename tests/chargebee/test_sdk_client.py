"""The official Chargebee SDK (3.x) as a second client of the fake site.

The SDK builds its own requests (its parameter encoding, its auth header) and
parses the answers into its typed models; if the fake drifted from what
Chargebee serves, this is where it shows.
"""

from __future__ import annotations

import pytest
from chargebee import Chargebee
from chargebee.api_error import APIError

from connector.demo_chargebee import DEFAULT_KEY


@pytest.fixture
def sdk(site, serve, monkeypatch):
    server = serve(site)
    monkeypatch.setattr(Chargebee, "verify_ca_certs", False)   # plain http to 127.0.0.1
    port = server.url.split(":")[2].split("/")[0]
    # The SDK builds https://{site}.{domain}/api/v2: site "127.0.0" and domain "1:PORT" make the loopback address.
    client = Chargebee(api_key=DEFAULT_KEY, site="127.0.0", chargebee_domain=f"1:{port}", protocol="http")
    return server, client


def test_the_sdk_pages_subscriptions_with_filters_and_offsets(site, sdk):
    server, client = sdk
    wanted = {"active", "non_renewing"}
    ids, offset = [], None
    while True:
        params = {"limit": 7, "sort_by": {"asc": "created_at"}, "status": {"in": sorted(wanted)}}
        if offset:
            params["offset"] = offset
        response = client.Subscription.list(params)
        for entry in response.list:
            assert entry.subscription.status in wanted
            assert entry.customer.id == entry.subscription.customer_id
            ids.append(entry.subscription.id)
        offset = response.next_offset
        if offset is None:
            break
    assert ids == [s["id"] for s in site.objects["subscriptions"] if s["status"] in wanted and not s["deleted"]]
    assert server.stats.requests[0] == ("/api/v2/subscriptions", {
        "limit": "7", "sort_by[asc]": "created_at", "status[in]": "['active', 'non_renewing']"})


def test_the_sdk_reads_typed_invoices_and_item_prices(site, sdk):
    _, client = sdk
    invoice = site.objects["invoices"][0]
    got = client.Invoice.retrieve(invoice["id"]).invoice
    assert (got.total, got.currency_code, got.line_items[0].entity_id) == (
        invoice["total"], invoice["currency_code"], invoice["line_items"][0]["entity_id"])
    stairstep = client.ItemPrice.retrieve("team-USD-monthly").item_price
    assert stairstep.pricing_model == "stairstep"
    assert [(t.starting_unit, t.price) for t in stairstep.tiers] == [(1, 2000), (6, 5000), (21, 9000)]


def test_the_sdk_sees_chargebees_errors(sdk):
    _, client = sdk
    with pytest.raises(APIError) as err:
        client.Customer.retrieve("no_such_customer")
    assert (err.value.http_status_code, err.value.api_error_code) == (404, "resource_not_found")


def test_the_sdk_reads_events_with_their_content(site, sdk):
    _, client = sdk
    response = client.Event.list({"limit": 3, "sort_by": {"asc": "occurred_at"}})
    assert [e.event.id for e in response.list] == [e["id"] for e in site.objects["events"][:3]]
    assert response.list[0].event.event_type == site.objects["events"][0]["event_type"]
