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

from ..store.sql import META_COLUMNS, quote


def rows_by_customer(store, table: str, provider: str, customer_ids: Sequence[str]
                     ) -> dict[str, list[dict[str, Any]]]:
    """Live rows of ``table`` for these customers, grouped by customer, each group sorted by id; each
    row without the store's meta columns (``_synced_at``, ``_deleted``, ``_seq``: the builder reads
    none, and they were three of every row's values, read for every neutral row of the account)."""
    names = [name for (_cid, name, *_rest) in store.db.execute(f"PRAGMA table_info({quote(table)})")
             if name not in META_COLUMNS]
    cursor = store.db.execute(
        f"SELECT {', '.join(quote(name) for name in names)} FROM {table} WHERE provider = ? AND _deleted = 0 "
        f"AND customer_id IN ({', '.join('?' for _ in customer_ids)})", [provider, *customer_ids])
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in cursor.fetchall():
        record = dict(zip(names, row))
        grouped[record["customer_id"]].append(record)
    for rows in grouped.values():
        rows.sort(key=_by_id)
    return grouped


def _by_id(row: Mapping[str, Any]) -> Any:
    return row["id"]
