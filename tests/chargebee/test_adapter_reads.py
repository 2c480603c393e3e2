"""The adapter against the fake site: complete reads, paging, completion of line items, incremental filters."""

from __future__ import annotations

import json

import pytest

from connector.demo_chargebee.billing import BIG_INVOICE_LINES
from connector.providers.chargebee_catalog import PC1, PC2, STREAMS, streams_for


def _read_all(provider, stream, updated_since=None):
    objects, children, requests = [], {}, 0
    for page in provider.iter_pages(stream, updated_since=updated_since):
        objects += page.objects
        requests += page.requests
        for table, entries in page.children.items():
            children.setdefault(table, []).extend(entries)
    return objects, children, requests


def test_full_read_of_every_stream_equals_the_site(site, serve, connect):
    server = serve(site)
    provider = connect(server)
    assert provider.detect_catalog_version() == PC2
    for name in streams_for(PC2):
        objects, _, _ = _read_all(provider, name)
        expected = site.objects[name]
        # include_deleted where the list takes it: tombstones arrive too
        assert sorted(o["id"] for o in objects) == sorted(o["id"] for o in expected), name
        assert len(objects) == len({o["id"] for o in objects}), f"{name}: an object read twice"
    assert server.stats.rate_limited == 0


def test_lists_are_read_on_the_immutable_key_100_a_page_with_include_deleted(site, serve, connect):
    server = serve(site)
    provider = connect(server)
    _read_all(provider, "invoices")
    invoice_lists = [p for path, p in server.stats.requests if path == "/api/v2/invoices"]
    assert invoice_lists[0] == {"limit": "100", "sort_by[asc]": "date", "include_deleted": "true"}
    assert [p.get("offset") for p in invoice_lists[1:]] == [
        json.dumps([str(inv["date"]), inv["id"]]) for inv in site.objects["invoices"][99::100][: len(invoice_lists) - 1]
    ]
    assert len(invoice_lists) == -(-len(site.objects["invoices"]) // 100)
    server.stats.requests.clear()
    _read_all(provider, "item_prices")
    assert server.stats.requests[0][1] == {"limit": "100", "sort_by[asc]": "id"}


def test_full_read_sends_no_updated_filter_and_reads_records_never_updated(site, serve, connect):
    server = serve(site)
    provider = connect(server)
    objects, _, _ = _read_all(provider, "customers")
    assert all("updated_at[after]" not in p for _, p in server.stats.requests)
    legacy = [c["id"] for c in site.objects["customers"] if "updated_at" not in c]
    assert len(legacy) == 2 and set(legacy) <= {o["id"] for o in objects}


def test_incremental_read_filters_on_updated_at(site, serve, connect):
    server = serve(site)
    provider = connect(server)
    since = sorted(s["updated_at"] for s in site.objects["subscriptions"])[-5]
    objects, _, _ = _read_all(provider, "subscriptions", updated_since=since)
    assert sorted(o["id"] for o in objects) == sorted(
        s["id"] for s in site.objects["subscriptions"] if s["updated_at"] > since)
    assert server.stats.requests[-1][1]["updated_at[after]"] == str(since)
    # unbilled charges have no updated_at filter: an incremental read is a full one
    server.stats.requests.clear()
    objects, _, _ = _read_all(provider, "unbilled_charges", updated_since=since)
    assert "updated_at[after]" not in server.stats.requests[0][1]
    assert len(objects) == len(site.objects["unbilled_charges"])


def test_truncated_invoice_lines_are_completed(site, serve, connect):
    server = serve(site)
    provider = connect(server)
    objects, children, requests = _read_all(provider, "invoices")
    big = [o for o in objects if len(o["line_items"]) == BIG_INVOICE_LINES]
    assert len(big) == 1 and "line_items_next_offset" not in big[0]
    expected = next(i for i in site.objects["invoices"] if i["id"] == big[0]["id"])
    assert [l["id"] for l in big[0]["line_items"]] == [l["id"] for l in expected["line_items"]]
    lines = dict(children["line_items"])
    assert len(lines[big[0]["id"]]) == BIG_INVOICE_LINES
    detail = [p for path, p in server.stats.requests if path == f"/api/v2/invoices/{big[0]['id']}"]
    assert detail == [{"line_items_limit": "300", "line_items_offset": json.dumps(["100", expected["line_items"][99]["id"]])}]
    assert requests == len([p for p, _ in server.stats.requests])


def test_subscription_children_are_the_embedded_lists(site, serve, connect):
    provider = connect(serve(site))
    objects, children, _ = _read_all(provider, "subscriptions")
    assert set(children) == {"subscription_items", "subscription_coupons", "subscription_discounts"}
    with_coupons = {sid: c for sid, c in children["subscription_coupons"] if c}
    assert with_coupons and all(c[0]["coupon_id"] for c in with_coupons.values())


def test_fetch_object_completes_lines_and_hides_deleted(site, serve, connect):
    provider = connect(serve(site))
    big = next(i for i in site.objects["invoices"] if len(i["line_items"]) == BIG_INVOICE_LINES)
    assert len(provider.fetch_object("invoices", big["id"])["line_items"]) == BIG_INVOICE_LINES
    deleted = next(c for c in site.objects["customers"] if c["deleted"])
    assert provider.fetch_object("customers", deleted["id"]) is None
    assert provider.fetch_object("customers", "no_such_customer") is None


def test_events_page_by_occurrence_and_type(site, serve, connect):
    server = serve(site)
    provider = connect(server)
    events = site.objects["events"]
    after, before = events[100]["occurred_at"], events[400]["occurred_at"]
    types = list(STREAMS["subscriptions"].events)
    got, token = [], None
    while True:
        page = provider.events_page(types=types, occurred_after=after, occurred_until=before - 1, page_token=token)
        got += page.events
        token = page.next_token
        if token is None:
            break
    assert [e["id"] for e in got] == [
        e["id"] for e in events if after < e["occurred_at"] < before and e["event_type"] in types]
    assert got and all(e["event_type"].startswith("subscription_") for e in got)


def test_legacy_catalog_is_detected_and_read(legacy_site, serve, connect):
    server = serve(legacy_site)
    provider = connect(server)
    assert provider.detect_catalog_version() == PC1
    assert set(provider.streams) == set(streams_for(PC1))
    assert "plans" in provider.streams and "item_prices" not in provider.streams
    plans, _, _ = _read_all(provider, "plans")
    assert len(plans) == len(legacy_site.objects["plans"])
    assert provider.identify().api_version == "v2/pc1"


def test_a_pc2_stream_on_a_pc1_site_is_reported_not_raised(legacy_site, serve, connect):
    provider = connect(serve(legacy_site))
    assert provider.check_stream_access("item_prices") == "item_prices: not part of this site's Product Catalog version"
    assert provider.check_stream_access("plans") is None


def test_refusing_pc1_gives_one_clear_line(legacy_site, serve, connect):
    from connector.errors import ConfigError

    provider = connect(serve(legacy_site))
    with pytest.raises(ConfigError) as err:
        provider.require_catalog((PC2,))
    assert str(err.value) == (
        "the Chargebee site acme-test uses Product Catalog 1.0, which this command does not read: "
        "migrate the site to Product Catalog 2.0 or use a release that supports it"
    )
