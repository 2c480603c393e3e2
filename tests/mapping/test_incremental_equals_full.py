"""The invariant: any split of the same raw changes into incremental mappings ends where one full mapping does.

Each example replays one ordered list of raw changes (creations, updates that
reach dependants — a coupon, a price, a product — and deletions) into a store,
mapping and building segments after every chunk as the engine does after each
sync, and compares the neutral tables and the stored segments with a second
store that received everything and was mapped once with map_all.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.mapping.schema import TABLES
from connector.mapping.stripe import map_all, map_changes
from connector.mrr.model import SEGMENTS_TABLE
from connector.mrr.policy import PRESETS
from connector.mrr.segments import build_segments, effective_segments
from connector.store import open_store
from tests.support.stripe_objects import (
    IDENTITY, charge, coupon, credit_note, customer, discount, invoice, item, line, price, refund, subscription, ts,
)

MONTHLY, ANNUAL = price("price_m", 10000), price("price_y", 120000, "year")
EURO = price("price_eur", 9000, currency="eur")
TWENTY = coupon("C20", "forever", percent_off=20)
SUB_1 = subscription("sub_1", "cus_1", [item("si_1", MONTHLY, 2, start="2025-03-01", end="2025-04-01")],
                     discounts=[discount("di_1", "C20", "2025-01-01")])
SUB_2_TRIAL = subscription("sub_2", "cus_2", [item("si_2", ANNUAL, start="2025-03-01", end="2025-03-15",
                                                   subscription="sub_2")],
                           status="trialing", trial_start=ts("2025-03-01"), trial_end=ts("2025-03-15"))
INVOICE_2_LINE = line("il_5", "in_5", "price_y", 120000, "2025-03-15", "2026-03-15", subscription="sub_2",
                      subscription_item="si_2")
INVOICE_2 = invoice("in_5", [], customer_id="cus_2", subscription="sub_2", created="2025-03-15") | {
    "lines": {"object": "list", "data": [], "has_more": True}}   # lines come from their own stream

CHANGES = [
    ("products", {"id": "prod_1", "object": "product", "name": "Pro", "active": True}),
    ("prices", MONTHLY), ("prices", ANNUAL), ("prices", EURO), ("coupons", TWENTY),
    ("customers", customer("cus_1")), ("customers", customer("cus_2")), ("customers", customer("cus_3")),
    ("subscriptions", SUB_1),
    ("invoices", invoice("in_1", [line("il_1", "in_1", "price_m", 20000, "2025-01-01", "2025-02-01", quantity=2,
                                       discount_amounts=[("di_1", 4000)])], customer_id="cus_1", charge="ch_1")),
    ("invoices", invoice("in_2", [line("il_2", "in_2", "price_m", 20000, "2025-02-01", "2025-03-01", quantity=2,
                                       discount_amounts=[("di_1", 4000)])], customer_id="cus_1", charge="ch_2")),
    ("charges", charge("ch_1", 16000, customer_id="cus_1")), ("charges", charge("ch_2", 16000, customer_id="cus_1")),
    ("refunds", refund("re_1", "ch_1", 16000)),
    ("subscriptions", SUB_2_TRIAL),
    ("subscriptions", SUB_2_TRIAL | {"status": "active", "items": {"object": "list", "has_more": False, "data": [
        item("si_2", ANNUAL, start="2025-03-15", end="2026-03-15", subscription="sub_2")]}}),
    ("invoices", INVOICE_2), ("invoice_line_items", INVOICE_2_LINE),
    ("credit_notes", credit_note("cn_1", "in_5", 5000, customer_id="cus_2")),
    ("subscriptions", subscription("sub_3", "cus_3", [item("si_3", EURO, start="2025-03-01", end="2025-04-01",
                                                           subscription="sub_3")], currency="eur")),
    ("subscriptions", SUB_1 | {"cancel_at_period_end": True, "canceled_at": ts("2025-03-20")}),
    ("delete", ("subscriptions", "sub_3")),
    ("events", {"id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": ts("2025-03-10"),
                "data": {"object": SUB_1, "previous_attributes": {"items": {"object": "list", "data": [
                    item("si_1", MONTHLY, 1, start="2025-03-01", end="2025-04-01")]}}}}),
    ("refunds", refund("re_1", "ch_1", 16000) | {"status": "canceled"}),
    # Last, so that nothing else touches the dependants afterwards: only the dependency reaches them.
    ("coupons", coupon("C20", "forever", percent_off=50)),                       # reaches sub_1 through di_1
    ("prices", price("price_m", 12000)),                                         # reaches si_1 and il_1/il_2
    ("products", {"id": "prod_1", "object": "product", "name": "Pro 2", "active": True}),
]


def _apply(store, changes) -> None:
    for table, obj in changes:
        with store.db.atomic():
            if table == "delete":
                store.mark_deleted(obj[0], [{"id": obj[1]}])
            else:
                store.upsert_objects(table, [obj])


def _snapshot(store) -> dict[str, list[tuple]]:
    out = {}
    for name in [*TABLES, SEGMENTS_TABLE]:
        cursor = store.db.execute(f"SELECT * FROM {name} WHERE _deleted = 0")
        names = [d[0] for d in cursor.description]
        out[name] = sorted(tuple((k, v) for k, v in zip(names, row) if k not in ("_seq", "_synced_at"))
                           for row in cursor.fetchall())
    return out


def _full() -> tuple[dict, dict]:
    store = open_store(None)
    store.bind_account(IDENTITY)
    _apply(store, CHANGES)
    map_all(store)
    build_segments(store)
    return _snapshot(store), {name: effective_segments(store, policy) for name, policy in PRESETS.items()}


FULL = None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sets(st.integers(min_value=1, max_value=len(CHANGES) - 1), max_size=len(CHANGES) - 1))
def test_any_split_into_incremental_mappings_equals_one_full_mapping(cuts):
    global FULL
    if FULL is None:
        FULL = _full()
    store = open_store(None)
    store.bind_account(IDENTITY)
    bounds = [0, *sorted(cuts), len(CHANGES)]
    for start, end in zip(bounds, bounds[1:]):
        _apply(store, CHANGES[start:end])
        build_segments(store, map_changes(store))
    tables, effective = FULL
    assert _snapshot(store) == tables
    assert {name: effective_segments(store, policy) for name, policy in PRESETS.items()} == effective
    store.close()


def test_the_scenario_is_not_trivial():
    """The compared state holds what the dependants should have picked up."""
    tables, effective = _full()
    plans = {dict(r)["id"]: dict(r)["unit_amount_minor"] for r in tables["billing_plans"]}
    assert plans == {"price_eur": 9000, "price_m": 12000, "price_y": 120000}
    discounts = [(dict(r)["id"], dict(r)["percent_off"]) for r in tables["billing_discounts"]]
    assert discounts == [("di_1", "50")]
    assert sorted({dict(r)["customer_id"] for r in tables[SEGMENTS_TABLE]}) == ["cus_1", "cus_2"]
    assert len(tables["billing_invoice_lines"]) == 3
    assert [dict(r)["id"] for r in tables["billing_subscription_changes"]] == ["evt_1:si_1"]
    assert len(effective["default"]) > 0
