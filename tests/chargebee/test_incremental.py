"""Incremental reads equal a full read: what `updated_at[after]` returns, merged into the last full
read, is what a fresh full read returns; the events between the two name every change."""

from __future__ import annotations

from connector.demo_chargebee import NOW, build_site
from connector.demo_chargebee.mutations import add_customer, cancel_subscription, change_quantity, delete_customer
from connector.providers.chargebee_catalog import PC2, STREAMS, streams_for


def _full(provider):
    return {name: {o["id"]: o for page in provider.iter_pages(name) for o in page.objects}
            for name in streams_for(PC2)}


def _cursor(snapshot) -> int:
    return max(o.get("updated_at", 0) for objs in snapshot.values() for o in objs.values())


def test_incremental_after_changes_equals_a_fresh_full_read(serve, connect):
    site = build_site(seed=3, customers=32)
    server = serve(site)
    provider = connect(server, per_minute=1000)
    before = _full(provider)
    cursor = _cursor(before)
    subs = [s for s in site.objects["subscriptions"] if s["status"] == "active" and not s["deleted"]]
    per_unit = next(s for s in subs if any("quantity" in i and "unit_price" in i for i in s["subscription_items"]))
    item = next(i for i in per_unit["subscription_items"] if "quantity" in i and "unit_price" in i)
    live = next(c for c in site.objects["customers"] if not c["deleted"] and c["id"] != per_unit["customer_id"])
    at = NOW + 3600
    server.mutate(cancel_subscription, subs[0]["id"], at)
    server.mutate(change_quantity, per_unit["id"], item["item_price_id"], item["quantity"] + 4, at + 1)
    server.mutate(add_customer, "cus_new_0001", "new@example.com", at + 2)
    server.mutate(delete_customer, live["id"], at + 3)

    merged = {name: dict(objs) for name, objs in before.items()}
    changed = {}
    for name in streams_for(PC2):
        got = [o for page in provider.iter_pages(name, updated_since=cursor) for o in page.objects]
        if STREAMS[name].updated_filter:
            changed[name] = sorted(o["id"] for o in got)
        merged[name].update({o["id"]: o for o in got})
    assert changed["subscriptions"] == sorted([subs[0]["id"], per_unit["id"]])
    assert changed["customers"] == sorted(["cus_new_0001", live["id"]])
    # the events log is a stream too, read by `occurred_at[after]`: the four changes' events, nothing older
    assert all(not ids for name, ids in changed.items() if name not in ("subscriptions", "customers", "events"))
    assert [(merged["events"][i]["event_type"], merged["events"][i]["occurred_at"]) for i in changed["events"]] == [
        ("subscription_cancelled", at), ("subscription_changed", at + 1),
        ("customer_created", at + 2), ("customer_deleted", at + 3)]
    assert merged == _full(provider)
    assert merged["customers"][live["id"]]["deleted"] is True    # a tombstone, through include_deleted

    page = provider.events_page(types=[], occurred_after=cursor, occurred_until=at + 59, page_token=None)
    assert [(e["event_type"], e["occurred_at"]) for e in page.events] == [
        ("subscription_cancelled", at), ("subscription_changed", at + 1),
        ("customer_created", at + 2), ("customer_deleted", at + 3)]
    assert page.next_token is None


def test_a_rerun_with_no_change_reads_nothing_new(serve, connect):
    site = build_site(seed=4, customers=16)
    provider = connect(serve(site), per_minute=1000)
    cursor = _cursor(_full(provider))
    for name, spec in streams_for(PC2).items():
        if spec.updated_filter:
            assert [o for p in provider.iter_pages(name, updated_since=cursor) for o in p.objects] == [], name
