"""The segment builder's reads and checks take shortcuts; each gives what the general one gives.

* ``rows_by_customer`` leaves out the store's meta columns: the rows are ``SELECT *``'s without them
  (on a copy of the demo's store).
* the segment builder checks the range of a row's ``*_minor`` columns by the table's declaration:
  ``segment_row`` writes exactly the declared columns.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from connector.mrr.model import SEGMENTS, segment_row
from connector.mrr.segment_writes import rows_by_customer
from connector.store import open_store
from connector.store.sql import META_COLUMNS
from tests.support.demo import copy_store


@pytest.fixture(scope="module")
def store(demo_store, tmp_path_factory):
    opened = open_store(str(copy_store(demo_store, tmp_path_factory.mktemp("refresh-reads"))))
    yield opened
    opened.close()


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
