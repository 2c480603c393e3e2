"""explain finds every source by its own id and says what counted; what the rules cannot place is
counted with its amount and reason (status, explain); a failing explain writes nothing."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from connector.errors import ConfigError
from connector.mrr import engine
from connector.mrr.explain import explain
from connector.mrr.model import unplaced_summary
from connector.mrr.policy import load_policy
from connector.store import open_store
from tests.support.stripe_objects import (
    coupon, customer, discount, invoice, item, line, load, price, segments_for, subscription,
)

MONTHLY = price("price_m", 10000)


def test_explain_names_discounts_by_their_id_and_which_source_counted(store):
    c = coupon("FOREVER20", "forever", percent_off=20)
    march = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01",
                                  discount_amounts=[("di_1", 2000)])], created="2025-03-01")
    load(store, customers=[customer()], prices=[MONTHLY], coupons=[c], invoices=[march], subscriptions=[subscription(
        items=[item("si_1", MONTHLY, start="2025-03-15", end="2025-04-15")],
        discounts=[discount("di_1", c, "2025-03-01")])])
    segments_for(store)
    engine.rebuild(store, load_policy("default"), as_of=date(2025, 3, 31))
    report = explain(store, "cus_1", date(2025, 3, 20))
    assert report["mrr"] == [{"currency": "usd", "mrr_minor": 8000}]
    rows = {(s["source_type"], s["source_id"]): (s["counted"], s["counted_mrr_minor"], s["why_not_counted"])
            for s in report["segments"]}
    assert rows == {
        ("invoice_line", "il_1"): (False, None, "another source counts this subscription on this day "
                                                "(one of items or invoice lines, never both)"),
        ("discount", "di_1"): (True, -2000, None),
        ("subscription_item", "si_1"): (True, 10000, None),
    }
    discounts = [s["source"] for s in report["segments"] if s["source_type"] == "discount"]
    assert {(d["table"], d["id"], d["coupon_id"], d["percent_off"]) for d in discounts} == {
        ("billing_discounts", "di_1", "FOREVER20", "20")}


def test_an_item_whose_price_has_no_amount_is_counted_as_unplaced_with_its_reason(store):
    tiered = price("price_t", None, billing_scheme="tiered", tiers_mode="volume")
    load(store, customers=[customer()], prices=[tiered], subscriptions=[subscription(
        items=[item("si_1", tiered, 3, start="2025-03-01", end="2025-04-01")])])
    segments_for(store)
    assert unplaced_summary(store) == [{
        "object_type": "subscription_item", "reason": "subscription item: its price's amount is not known "
        "(tiers or unit amount missing)", "currency": "usd", "count": 1, "amount_minor": 0}]
    engine.rebuild(store, load_policy("default"), as_of=date(2025, 3, 31))
    assert explain(store, "cus_1", date(2025, 3, 20))["unplaced"] == [{
        "object_type": "subscription_item", "object_id": "si_1",
        "reason": "subscription item: its price's amount is not known (tiers or unit amount missing)",
        "amount_minor": None, "currency": "usd"}]


def test_a_failing_explain_creates_no_table(tmp_path):
    path = tmp_path / "raw-only.db"
    store = open_store(path)
    load(store, customers=[customer()])
    tables_before = {t for (t,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with pytest.raises(ConfigError, match="no revenue segments or MRR facts for customer 'cus_1'"):
        explain(store, "cus_1", date(2025, 3, 20))
    store.close()
    tables_after = {t for (t,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables_after == tables_before
