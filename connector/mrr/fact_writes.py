"""How the MRR engine writes its customer fact tables: chunked id lists, change-only
rewrites per customer, and what makes a full recompute into SQLite fast.

A full recompute of 100,000 customers writes millions of rows; measured, the
costs were the rows themselves (built inline in facts.ledger_rows), the
secondary indexes maintained row by row, and SQLite's 2 MB default page cache;
then, in a first build, the policy stamp bound on every row, one statement run
per row and every page written twice through the WAL (see store/bulk.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .facts import CUSTOMER_FACTS, PRIMARY_KEY, ROW_COLUMNS, STAMP_COLUMNS, DayText, PolicyStamp, ledger_rows

SQL_VARIABLES = 900               # ids per IN (...) list, well under SQLite's limit
# The page cache during a full recompute (SQLite's default is 2 MB). Into empty tables the
# indexes are built after the load, so the writes append and a modest cache suffices; 256 MB
# was measured no faster and counts in the sync's peak memory.
REBUILD_CACHE_KIB = 16 * 1024


def chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for index in range(0, len(items), size):
        yield items[index:index + size]


def select_in(db, sql: str, ids: Sequence[Any], params: Sequence[Any] = ()) -> list[tuple]:
    """``sql`` with one ``{ids}`` placeholder for an IN list, over chunks of ids (``params`` bind before it)."""
    rows: list[tuple] = []
    for part in chunks(list(ids), SQL_VARIABLES):
        rows.extend(db.execute(sql.format(ids=", ".join("?" for _ in part)), [*params, *part]).fetchall())
    return rows


def write_customers(target, customer_ids: Sequence[str], ledgers: Sequence[Any], stamp: PolicyStamp,
                     *, fresh: bool = False) -> int:
    """Make the customer tables hold exactly ``ledgers`` for ``customer_ids``.

    ``fresh``: the tables held no live rows when the recompute began, so every row is new and
    nothing is stale: plain inserts (the policy stamp written once per statement, not bound per
    row) and no query for what to delete.
    """
    new_rows: dict[str, list[tuple]] = {table.name: [] for table in CUSTOMER_FACTS}
    day_text = DayText()
    for ledger in ledgers:
        ledger_rows(ledger.customer_id, ledger.currency, ledger.runs, ledger.days, ledger.months, day_text, new_rows)
    stamp_values = (stamp.name, stamp.fingerprint)
    written = 0
    for table in CUSTOMER_FACTS:
        rows = new_rows[table.name]
        if fresh:
            written += target.insert_values(table.name, ROW_COLUMNS[table.name], rows,
                                            dict(zip(STAMP_COLUMNS, stamp_values)))
            continue
        written += target.upsert_values(table.name, PRIMARY_KEY, table.column_names,
                                        [row + stamp_values for row in rows])
        keep = {row[0] for row in rows}   # the id comes first
        existing = select_in(
            target.db, f"SELECT id FROM {table.name} WHERE _deleted = 0 AND customer_id IN ({{ids}})", customer_ids
        )
        stale = [{"id": row_id} for (row_id,) in existing if row_id not in keep]
        if stale:
            written += target.mark_deleted(table.name, stale)
    return written
