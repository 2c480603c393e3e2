"""How the segment builder reads and writes a batch of customers at once.

Per customer, a query per neutral table and a replace per segment table made the
statements, not the rows, the cost of a refresh; a batch of customers shares them.
Customer ids come in batches (``BATCH_CUSTOMERS``), so every ``IN (...)`` list stays
well under SQLite's variable limit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any


def rows_by_customer(store, table: str, provider: str, customer_ids: Sequence[str]
                     ) -> dict[str, list[dict[str, Any]]]:
    """Live rows of ``table`` for these customers, grouped by customer, each group sorted by id."""
    cursor = store.db.execute(
        f"SELECT * FROM {table} WHERE provider = ? AND _deleted = 0 "
        f"AND customer_id IN ({', '.join('?' for _ in customer_ids)})", [provider, *customer_ids])
    names = [d[0] for d in cursor.description]
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in cursor.fetchall():
        record = dict(zip(names, row))
        grouped[record["customer_id"]].append(record)
    for rows in grouped.values():
        rows.sort(key=_by_id)
    return grouped


def _by_id(row: Mapping[str, Any]) -> Any:
    return row["id"]


def replace_customers_rows(store, table: str, primary_key: Sequence[str], provider: str,
                           by_customer: Mapping[str, Sequence[Mapping[str, Any]]], *, fresh: bool = False) -> set[str]:
    """Make the live rows of many customers (of ``provider``) in ``table`` exactly the given ones (the
    store's batched ``replace_scope``); returns the customers with a row written or removed.

    ``fresh``: the table held no live row when the build began (a first build; its indexes may be
    deferred): nothing to look for, and every customer given a row is changed.
    """
    if not by_customer:
        return set()
    before = store.current_seq()
    rows = [row for customer_rows in by_customer.values() for row in customer_rows]
    customers = list(by_customer)
    if fresh:
        store.upsert_rows(table, primary_key, rows)
        return {customer for customer, customer_rows in by_customer.items() if customer_rows}
    store.replace_scope(table, primary_key, {"provider": provider, "customer_id": customers}, rows)
    marks = ", ".join("?" for _ in customers)   # a batch: well under SQLite's variable limit
    return {c for (c,) in store.db.execute(
        f"SELECT DISTINCT customer_id FROM {table} WHERE _seq > ? AND provider = ? AND customer_id IN ({marks})",
        [before, provider, *customers])}
