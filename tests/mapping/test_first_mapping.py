"""What the mapping remaps: when every row of a raw table changed (after a first sync) it reads the
changed customers and plans from the columns' own indexes (``_every_row_changed``) instead of
filtering on ``_seq``; otherwise it filters, and finds the owners of changed children. Both ways
find exactly the customers and plans the filtered queries find."""

from __future__ import annotations

import pytest

from connector.mapping.schema import ensure_schema
from connector.mapping.stripe import _Mapping
from connector.store import open_store
from tests.support.stripe_objects import IDENTITY, charge, customer, invoice, line, price, refund

MONTHLY = price("price_m", 10000)


def _line(n: int, amount: int = 10000):
    return line(f"il_{n}", f"in_{n}", "price_m", amount, "2025-01-01", "2025-02-01")


FIRST = [("prices", MONTHLY),
         *[(table, obj) for n in (1, 2, 3) for table, obj in (
             ("customers", customer(f"cus_{n}")),
             ("invoices", invoice(f"in_{n}", [], customer_id=f"cus_{n}")),
             ("invoice_line_items", _line(n)),
             ("charges", charge(f"ch_{n}", 10000, customer_id=f"cus_{n}")))],
         ("refunds", refund("re_1", "ch_1", 500))]


def _write(store, changes) -> int:
    """The changes, one transaction each; the watermark before them."""
    since = store.current_seq()
    for table, obj in changes:
        with store.db.atomic():
            store.upsert_objects(table, [obj])
    return since


def _affected(store, since, monkeypatch, shortcut: bool):
    if not shortcut:
        monkeypatch.setattr(_Mapping, "_every_row_changed", lambda self, table: False)
    mapping = _Mapping(store, since)
    found = mapping.affected_customers(), mapping.affected_plan_ids()
    monkeypatch.undo()
    return found


@pytest.mark.parametrize("later, customers, plans", [
    ([], {"cus_1", "cus_2", "cus_3"}, {"price_m"}),                        # the first mapping: all changed
    ([("invoice_line_items", _line(2, 12000))], {"cus_2"}, set()),          # a line: its invoice's customer
    ([("refunds", refund("re_1", "ch_1", 900))], {"cus_1"}, set()),         # a refund: its charge's customer
    ([("prices", MONTHLY | {"unit_amount": 11000})], set(), {"price_m"}),   # a price: the plan itself
], ids=["first", "line", "refund", "price"])
def test_what_changed_is_found_alike_with_and_without_the_shortcut(monkeypatch, later, customers, plans):
    store = open_store(None)
    try:
        store.bind_account(IDENTITY)
        ensure_schema(store)
        since = _write(store, FIRST)
        if later:
            since = _write(store, later)
        quick = _affected(store, since, monkeypatch, shortcut=True)
        assert quick == (customers, plans)
        assert _affected(store, since, monkeypatch, shortcut=False) == quick
        assert _Mapping(store, since)._every_row_changed("invoices") == (not later)
    finally:
        store.close()


def test_the_charges_refund_question_is_answered_from_an_index():
    """Most charges are never refunded: the mapping asks each customer's charges for their refunded
    amount and id alone, from an index covering both, and reads the text of the refunded ones only
    (a charge's table page is shared with other customers' charges: reading them all re-read the
    charges' pages about as many times as they hold charges)."""
    store = open_store(None)
    try:
        store.bind_account(IDENTITY)
        ensure_schema(store)
        _write(store, FIRST)
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        found = list(_Mapping(store, None)._charges_giving_money_back(["cus_1", "cus_2", "cus_3"]))
        store.db.conn.set_trace_callback(None)
        assert [customer_id for customer_id, _data, _seq in found] == ["cus_1"]   # ch_1 has a refund
        by_customer = [sql for sql in statements if "FROM charges WHERE customer IN" in sql]
        assert by_customer
        for sql in by_customer:
            plan = " ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "COVERING INDEX" in plan, plan
    finally:
        store.close()


def test_a_nightly_mapping_finds_what_changed_through_the_change_sequence():
    """What changed since the watermark is read from each table's ``_seq`` index: never by walking
    another index and reading every row for its ``_seq`` (the cost of the whole account per run)."""
    store = open_store(None)
    try:
        store.bind_account(IDENTITY)
        ensure_schema(store)
        _write(store, FIRST)
        since = _write(store, [("invoice_line_items", _line(2, 12000))])
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        assert _Mapping(store, since).affected_customers() == {"cus_2"}
        store.db.conn.set_trace_callback(None)
        since_queries = [sql for sql in statements if "_seq >" in sql]
        assert since_queries
        for sql in since_queries:
            plan = [row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
            scans = [step for step in plan if step.startswith("SCAN ")]
            assert not scans, (sql, plan)
    finally:
        store.close()


def test_a_batch_reads_its_subscription_events_through_an_index_not_a_scan_of_every_event():
    """The events table grows with every nightly sync: a batch of customers reads its own
    subscription-change events by customer, never the whole table."""
    def subscription_updated_event(event_id, subscription_id, customer_id):
        return {"id": event_id, "object": "event", "type": "customer.subscription.updated", "created": 1740000000,
                "data": {"object": {"id": subscription_id, "object": "subscription", "customer": customer_id},
                         "previous_attributes": {"status": "trialing"}}}

    store = open_store(None)
    try:
        store.bind_account(IDENTITY)
        ensure_schema(store)
        _write(store, [*FIRST, *[("events", subscription_updated_event(f"evt_{n}", f"sub_{n}", f"cus_{n}"))
                                 for n in (1, 2, 3)]])
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        found = [customer_id for customer_id, _data in _Mapping(store, None)._subscription_events(["cus_2", "cus_3"])]
        store.db.conn.set_trace_callback(None)
        assert found == ["cus_2", "cus_3"]
        reads = [sql for sql in statements if "FROM events" in sql]
        assert reads
        for sql in reads:
            plan = [row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
            assert not [step for step in plan if step.startswith("SCAN ")], plan
    finally:
        store.close()
