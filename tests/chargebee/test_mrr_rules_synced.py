"""Chargebee's MRR cases through the whole chain: the fake site served, synced, mapped, MRR computed.

Each scenario of the fake site is one case (non-renewing, future, stairstep,
coupons counted or not in MRR, dunning, cancellation dates). Our figure on the
site's day is held to Chargebee's own per-subscription ``mrr`` (computed by
its published rules in the fake) under the ``chargebee`` preset; ``explain``
puts both side by side.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from connector.demo_chargebee import DEFAULT_KEY, NOW, FakeChargebee, build_site
from connector.mrr.explain import explain
from connector.mrr.policy import load_policy
from connector.providers.chargebee import ChargebeeProvider
from connector.providers.chargebee_budget import MinuteBudget
from connector.refresh import refresh
from connector.store import open_store
from connector.sync import resolve_streams, run_sync

SITE_DAY = datetime.fromtimestamp(NOW, tz=timezone.utc).date()


def _day(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).date()


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    site = build_site(seed=1, customers=16)     # one customer per scenario
    with FakeChargebee(site, per_minute=100_000) as server:
        provider = ChargebeeProvider(site.name, DEFAULT_KEY, budget=MinuteBudget(100_000, 4), api_base=server.url)
        store = open_store(tmp_path_factory.mktemp("rules") / "site.db", provider="chargebee")
        store.bind_account(provider.identify())
        assert run_sync(store, provider, streams=resolve_streams(provider, None), workers=4).failures == {}
    refresh(store, load_policy("chargebee", {}))
    subs = {site.scenario_of[s["id"]]: s for s in site.objects["subscriptions"]}
    yield store, subs
    store.close()


def _ours(store, sub, day: date = SITE_DAY) -> int:
    rows = explain(store, sub["customer_id"], day)["provider_mrr"]
    return next(r["our_mrr_minor"] for r in rows if r["subscription_id"] == sub["id"])


def _neutral(store, sub) -> dict:
    cursor = store.db.execute("SELECT * FROM billing_subscriptions WHERE id = ? AND _deleted = 0", [sub["id"]])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


AGREED = ["active_coupon_forever", "active_per_unit_addon_tax_exclusive", "non_renewing", "jpy_archived_price",
          "volume_metered_setup", "quarterly_limited_coupon", "eur_tax_inclusive_item_coupon", "manual_discount",
          "coupon_not_in_mrr", "in_trial", "paused", "cancelled", "future", "dunning_stairstep"]


@pytest.mark.parametrize("scenario", AGREED)
def test_our_mrr_on_the_sites_day_equals_chargebees_own(synced, scenario):
    store, subs = synced
    assert _ours(store, subs[scenario]) == subs[scenario]["mrr"]


def test_non_renewing_counts_until_its_term_ends_then_stops_there(synced):
    store, subs = synced
    sub = subs["non_renewing"]
    ends = _day(sub["cancelled_at"])
    assert _neutral(store, sub)["cancel_at_period_end"] == 1
    assert _ours(store, sub, ends - timedelta(days=1)) == sub["mrr"] > 0
    assert _ours(store, sub, ends) == 0
    movements = explain(store, sub["customer_id"], ends)["movements"]
    # the `chargebee` preset names movements as Chargebee does: churn is counted under contraction
    assert [(m["day"], m["movement"], m["mrr_after_minor"]) for m in movements if m["day"] == ends.isoformat()] == [
        (ends.isoformat(), "contraction", 0)]


def test_a_future_subscription_has_no_mrr_before_it_starts(synced):
    store, subs = synced
    sub = subs["future"]
    neutral = _neutral(store, sub)
    assert neutral["status"] == "incomplete" and sub["mrr"] == 0
    assert _ours(store, sub) == 0


def test_cancellation_dates_are_when_it_takes_effect_and_when_it_was_asked_for(synced):
    store, subs = synced
    sub = subs["cancelled"]
    neutral = _neutral(store, sub)
    assert neutral["status"] == "canceled"
    takes_effect, asked = _day(sub["cancelled_at"]), _day(sub["cancel_schedule_created_at"])
    assert asked < takes_effect
    assert _ours(store, sub, asked) > 0                      # still paying between the request and the end
    assert _ours(store, sub, takes_effect) == 0


def test_coupons_not_included_in_mrr_leave_it_whole(synced):
    store, subs = synced
    sub = subs["coupon_not_in_mrr"]
    full = sum(item["amount"] for item in sub["subscription_items"])
    assert _ours(store, sub) == full == sub["mrr"]
    discounts = store.db.execute("SELECT count(*) FROM billing_discounts WHERE subscription_id = ? AND _deleted = 0",
                                 [sub["id"]]).fetchone()[0]
    assert discounts == 2                                    # kept, reported, not applied
    assert _ours(store, subs["active_coupon_forever"]) < sum(
        i["amount"] for i in subs["active_coupon_forever"]["subscription_items"])   # an included coupon lowers it


def test_stairstep_prices_the_whole_step_and_dunning_keeps_mrr_under_chargebees_rules(synced):
    store, subs = synced
    sub = subs["dunning_stairstep"]
    report = explain(store, sub["customer_id"], SITE_DAY)
    item = next(s for s in report["segments"] if s["source_type"] == "subscription_item")
    assert item["amount_minor"] == sub["mrr"]                # the step holding 12 units, as a flat price
    # an invoice not_paid: dunning exhausted (our `unpaid`, due since `due_since`), still `active` in Chargebee
    assert _neutral(store, sub)["status"] == "unpaid" and sub["due_invoices_count"] == 2
    assert "unpaid" in item["tags"] and item["counted"]      # the `chargebee` preset counts it, as Chargebee does
    row = next(r for r in report["provider_mrr"] if r["subscription_id"] == sub["id"])
    assert (row["provider_mrr_minor"], row["our_mrr_minor"]) == (sub["mrr"], sub["mrr"])


def test_a_product_catalog_1_site_goes_through_the_same_chain(tmp_path):
    site = build_site(seed=2, customers=8, catalog="v1")
    with FakeChargebee(site, per_minute=100_000) as server:
        provider = ChargebeeProvider(site.name, DEFAULT_KEY, budget=MinuteBudget(100_000, 4), api_base=server.url)
        store = open_store(tmp_path / "pc1.db", provider="chargebee")
        identity = provider.identify()
        store.bind_account(identity)
        assert run_sync(store, provider, streams=resolve_streams(provider, None), workers=4).failures == {}
    assert identity.api_version == "v2/pc1"
    counts = store.table_counts()
    assert (counts["plans"], counts["addons"], counts["item_prices"]) == (
        site.count("plans"), site.count("addons"), 0)
    refresh(store, load_policy("chargebee", {}))
    by_status = {}
    for sub in site.objects["subscriptions"]:
        by_status.setdefault(sub["status"], set()).add(_ours(store, sub) > 0)
    assert by_status == {"active": {True}, "non_renewing": {True}, "cancelled": {False}, "in_trial": {False}}
    store.close()
