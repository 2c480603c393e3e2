"""How the segment builder reads a batch of customers at once (it writes them with the store's
``replace_customers``).

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
