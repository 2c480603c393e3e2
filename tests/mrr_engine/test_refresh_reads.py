"""The refresh's reads of what it wrote itself take shortcuts; each gives what the general read gives.

On a copy of the demo's store (every kind of segment the builder makes: invoice lines, live items,
discounts, prorations, trials, several currencies):

* ``effective_segments`` reads the segments as tuples of the columns the policy reads and groups
  them as they come (ordered by customer); ``apply_policy`` over each customer's
  ``read_segment_rows`` is the general path. Compared under every preset, with each segment's
  ``detail`` (which ``Segment`` equality leaves out), for everyone and for a few customers; and on
  any stored segments (hypothesis: intervals, counts, tags, overlapping spans, discount parents).
* ``rows_by_customer`` leaves out the store's meta columns: the rows are ``SELECT *``'s without them.
* the segment builder checks the range of a row's ``*_minor`` columns by the table's declaration:
  ``segment_row`` writes exactly the declared columns.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from itertools import groupby

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from connector.mrr.model import SEGMENTS, read_segment_rows, read_segment_values, segment_row, write_customer_segments
from connector.mrr.policy import PRESETS
from connector.mrr.segment_writes import rows_by_customer
from connector.mrr.segments_effective import apply_policy, effective_segments
from connector.store import open_store
from connector.store.sql import META_COLUMNS
from tests.support.demo import copy_store


@pytest.fixture(scope="module")
def store(demo_store, tmp_path_factory):
    opened = open_store(str(copy_store(demo_store, tmp_path_factory.mktemp("refresh-reads"))))
    yield opened
    opened.close()


def _general(store, policy, customer_ids=None):
    by_customer = defaultdict(list)
    for row in read_segment_rows(store, customer_ids):
        by_customer[row["customer_id"]].append(row)
    out = [segment for customer_id in sorted(by_customer) for segment in apply_policy(by_customer[customer_id], policy)]
    return sorted(out, key=lambda s: (s.customer_id, s.start, s.source_type, s.source_id, s.cause))


def _whole(segments):
    return [(segment, dict(segment.detail)) for segment in segments]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_effective_segments_are_the_policy_applied_to_each_customers_rows(store, name):
    policy = PRESETS[name]
    everyone = _whole(effective_segments(store, policy))
    assert len(everyone) > 100 and len({s.source_type for s, _ in everyone}) == 3
    assert everyone == _whole(_general(store, policy))
    some = sorted({s.customer_id for s, _ in everyone})[::3]
    assert _whole(effective_segments(store, policy, some)) == _whole(_general(store, policy, some))
    assert effective_segments(store, policy, []) == []


@pytest.mark.parametrize("table", ["billing_subscriptions", "billing_subscription_items", "billing_discounts",
                                   "billing_invoices", "billing_invoice_lines", "billing_subscription_changes"])
def test_rows_by_customer_are_the_live_rows_without_the_meta_columns(store, table):
    customers = sorted({c for (c,) in store.db.execute(f"SELECT DISTINCT customer_id FROM {table}")})
    cursor = store.db.execute(f"SELECT * FROM {table} WHERE provider = ? AND _deleted = 0", [store.provider])
    names = [d[0] for d in cursor.description]
    expected = defaultdict(list)
    for row in cursor.fetchall():
        record = {k: v for k, v in zip(names, row) if k not in META_COLUMNS}
        expected[record["customer_id"]].append(record)
    got = rows_by_customer(store, table, store.provider, customers)
    assert got == {c: sorted(rows, key=lambda r: r["id"]) for c, rows in expected.items()}


def test_a_segment_row_holds_exactly_the_declared_columns():
    row = segment_row(segment_id="s", provider="stripe", customer_id="cus_1", source_type="invoice_line",
                      source_id="il_1", currency="usd", start=date(2025, 1, 1), end=None, amount_minor=100)
    assert tuple(row) == SEGMENTS.column_names


# ---- any stored segments, not only the builder's: hypothesis -------------------------------------

_TAGS = ["invoice_basis", "subscription_basis", "invoice:paid", "invoice:void", "trialing", "past_due", "paused",
         "pending_cancel", "cancel_requested", "proration", "refunded_full", "refunded_partial", "credited",
         "discount", "discount:forever", "discount:once", "discount:repeating", "trial_converted"]
_DAY = st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 12, 31))


@st.composite
def _segments(draw, customer_id: str) -> list[dict]:
    rows = []
    for index in range(draw(st.integers(0, 6))):
        source_type = draw(st.sampled_from(["invoice_line", "subscription_item", "discount"]))
        start = draw(_DAY)
        end = draw(st.none() | st.integers(1, 120).map(lambda days, start=start: start + timedelta(days=days)))
        detail = {"slot": draw(st.sampled_from(["si_1", "si_2", "sub_1|price_1"])),
                  "part": draw(st.sampled_from(["current", "current:before_trial", "renewal"])),
                  "parent": f"{customer_id}:{draw(st.integers(0, 5))}",
                  "canceled_at": draw(st.none() | _DAY.map(date.isoformat)),
                  "subscription_ended": draw(st.none() | _DAY.map(date.isoformat)),
                  "past_due_since": draw(st.none() | _DAY.map(date.isoformat)),
                  "amount_paid": draw(st.none() | st.integers(0, 5000)), "amount_refunded": draw(st.integers(0, 5000)),
                  "note": draw(st.text(max_size=4))}
        rows.append(segment_row(
            segment_id=f"{customer_id}:{index}", provider="stripe", customer_id=customer_id, source_type=source_type,
            source_id=f"src_{index}", currency=draw(st.sampled_from(["usd", "JPY"])), start=start, end=end,
            amount_minor=draw(st.integers(-10_000, 10_000)), interval=draw(st.sampled_from(["month", "year", "week", "day"])),
            interval_count=draw(st.integers(1, 3)), series=draw(st.sampled_from(["mrr", "mrr", "usage"])),
            subscription_id=draw(st.sampled_from(["sub_1", "sub_2", None])),
            tags=draw(st.lists(st.sampled_from(_TAGS), max_size=4)), detail=detail))
    return rows


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    opened = open_store(str(tmp_path_factory.mktemp("refresh-reads-any") / "any.db"))
    yield opened
    opened.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(sorted(PRESETS)))
def test_any_stored_segments_give_what_the_general_path_gives(empty_store, data, name):
    customers = ["cus_a", "cus_b", "cus_c"]
    with empty_store.db.atomic():
        for customer_id in customers:   # each example replaces the customers' segments
            write_customer_segments(empty_store, "stripe", customer_id, data.draw(_segments(customer_id)))
    policy = PRESETS[name]
    assert _whole(effective_segments(empty_store, policy)) == _whole(_general(empty_store, policy))
    assert _whole(effective_segments(empty_store, policy, customers[1:])) == _whole(
        _general(empty_store, policy, customers[1:]))


def test_the_segments_come_grouped_by_customer(store):
    """What ``effective_segments``' grouping as the rows come relies on."""
    runs = [customer_id for customer_id, _ in groupby(read_segment_values(store, None, ("customer_id",)))]
    assert len(runs) == len(set(runs)) > 1
