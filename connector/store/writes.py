"""Row writes: the change-only upsert and the one batched "replace this scope" writer.

Every data row reaches the store through :meth:`Writes.upsert_rows` (an
identical row writes nothing and takes no sequence number) or
:meth:`Writes.replace_scope` (a whole scope rewritten as a unit: its rows not
given are soft-deleted), both inside the caller's transaction; a bulk load into a
table with no live row may take :meth:`Writes.insert_values` (plain inserts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from . import first_load
from .bulk import insert_rows
from .sql import META_COLUMNS, now_iso, quote

# Values per IN (...) list, well under SQLite's limit on bound parameters.
_CHUNK = 500


class Writes:
    """The row writes of :class:`~connector.store.Store` (a mixin: it brings the db, the sequence and the tally)."""

    def upsert_objects(self, table: str, objects: Sequence[Mapping[str, Any]]) -> int:
        """Insert or replace whole provider objects; returns how many rows changed.

        Must run inside a transaction (``with store.db.atomic():``) together with
        the cursor write that follows the page.
        """
        spec = self.raw_tables[table]
        rows = [spec.to_row(obj) for obj in objects]
        return self.upsert_rows(table, spec.primary_key, rows)

    def mark_deleted(self, table: str, keys: Iterable[Mapping[str, Any]]) -> int:
        """Soft-delete rows by primary key (the row and its JSON stay)."""
        spec = self.raw_tables.get(table)
        pk = spec.primary_key if spec else ("id",)
        return self._soft_delete(table, pk, [tuple(key[c] for c in pk) for key in keys])

    def _soft_delete(self, table: str, primary_key: Sequence[str], keys: Sequence[tuple]) -> int:
        """Soft-delete the live rows with these primary keys under one new sequence number."""
        if not keys:
            return 0
        if table in self.unkeyed:
            first_load.finish_table(self, table)   # found by key: the key index first
        seq = self._claim_seq()
        where = " AND ".join(f"{quote(c)} = ?" for c in primary_key)
        now = now_iso()
        before = self.db.conn.total_changes
        self.db.conn.executemany(
            f"UPDATE {quote(table)} SET _deleted = 1, _seq = ?, _synced_at = ? WHERE {where} AND _deleted = 0",
            [(seq, now, *key) for key in keys],
        )
        changed = self.db.conn.total_changes - before
        if changed:
            self._commit_seq(seq)
            self._tally(table, deleted=changed)
        return changed

    def _tally(self, table: str, created: int = 0, updated: int = 0, deleted: int = 0) -> None:
        if self.changes is not None:
            counts = self.changes.setdefault(table, {"created": 0, "updated": 0, "deleted": 0})
            counts["created"] += created
            counts["updated"] += updated
            counts["deleted"] += deleted

    def upsert_rows(
        self, table: str, primary_key: Sequence[str], rows: Sequence[Mapping[str, Any]]
    ) -> int:
        """Change-only upsert of plain rows into an existing table.

        A row identical to the stored one (all non-meta columns equal, same
        ``_deleted``) is not written. Returns the number of rows written.
        """
        if not rows:
            return 0
        columns = tuple(c for c in rows[0].keys() if c not in META_COLUMNS)
        # itemgetter builds each value tuple in C: this loop is the hot path of the sync writer
        values = itemgetter(*columns) if len(columns) > 1 else (lambda row, c=columns[0]: (row[c],))
        return self._upsert(table, primary_key, columns, lambda synced_at, seq: (
            values(row) + (synced_at, int(row.get("_deleted", 0)), seq) for row in rows))

    def upsert_values(self, table: str, primary_key: Sequence[str], columns: Sequence[str],
                      rows: Sequence[tuple]) -> int:
        """:meth:`upsert_rows` for live rows given as value tuples in ``columns`` order: a full MRR
        rebuild writes millions, and a dict per row was a fifth of its cost."""
        if not rows:
            return 0
        return self._upsert(table, primary_key, tuple(columns), lambda synced_at, seq: (
            row + (synced_at, 0, seq) for row in rows))

    def insert_values(self, table: str, columns: Sequence[str], rows: Sequence[tuple],
                      constants: Mapping[str, Any], replace: bool = False) -> int:
        """Plain INSERT of rows new to ``table``, for a bulk load into a table with no live row
        (nothing to compare or replace; a key already there raises ``sqlite3.IntegrityError``).

        Each row holds the values of ``columns``; ``constants`` (the same for every row: an MRR
        rebuild's policy stamp) and the meta columns are written into the statement once instead of
        bound per row (measured: a fifth of the insert cost of a full MRR rebuild), and each statement
        takes many rows (a third less again). ``replace``: a key already there is replaced (INSERT OR
        REPLACE) instead of raising. Returns the rows written.
        """
        if not rows:
            return 0
        seq = self._claim_seq()
        meta = {"_synced_at": now_iso(), "_deleted": 0, "_seq": seq}
        insert_rows(self.db.conn, table, columns, rows, {**constants, **meta}, replace)
        self._commit_seq(seq)
        self._tally(table, created=len(rows))
        return len(rows)

    def load_rows(self, table: str, primary_key: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> int:
        """:meth:`upsert_rows` into a table with no live row (a first build): the same rows stored, by
        plain multi-row inserts (``bulk.insert_rows``) with the meta columns written into the statement
        once, instead of an upsert comparing each row with none. A key already there (a soft-deleted
        row, the same key twice in ``rows``) is replaced by the later row, as the upsert would update
        it. Returns the rows written."""
        if not rows:
            return 0
        columns = tuple(c for c in rows[0].keys() if c not in META_COLUMNS)
        if len(columns) < 2 or "_deleted" in rows[0] or self.changes is not None:
            # a row marked deleted, or a tally to keep (created or updated): the upsert says which
            return self.upsert_rows(table, primary_key, rows)
        values = itemgetter(*columns)
        return self.insert_values(table, columns, [values(row) for row in rows], {}, replace=True)

    def _upsert(self, table: str, primary_key: Sequence[str], columns: tuple[str, ...], parameters) -> int:
        """Run the change-only upsert with ``parameters(synced_at, seq)``: each row's values, then its meta columns."""
        seq = self._claim_seq()
        sql = self._upsert_sql(table, tuple(primary_key), columns)
        if table in self.unkeyed:
            sql = sql[:sql.index(" ON CONFLICT")]   # a table filling up: every row is inserted
        # Rows are never removed and new ones get rowids above the current maximum,
        # so "created" is the count above it afterwards (only when a tally is kept).
        top = self._max_rowid(table) if self.changes is not None else 0
        before = self.db.conn.total_changes
        self.db.conn.executemany(sql, parameters(now_iso(), seq))
        changed = self.db.conn.total_changes - before
        if changed:
            self._commit_seq(seq)
            if self.changes is not None:
                created = self.db.execute(f"SELECT count(*) FROM {quote(table)} WHERE rowid > ?", [top]).fetchone()[0]
                self._tally(table, created=created, updated=changed - created)
        return changed

    def _max_rowid(self, table: str) -> int:
        return self.db.execute(f"SELECT max(rowid) FROM {quote(table)}").fetchone()[0] or 0

    def _upsert_sql(self, table: str, primary_key: tuple[str, ...], columns: tuple[str, ...]) -> str:
        """The change-only upsert statement, built once per table and column set."""
        cache = self.__dict__.setdefault("_sql_cache", {})
        key = (table, primary_key, columns)
        if key not in cache:
            all_columns = [*columns, *META_COLUMNS]
            updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in all_columns)
            differs = " OR ".join(
                f"{quote(table)}.{quote(c)} IS NOT excluded.{quote(c)}" for c in [*columns, "_deleted"]
            )
            cache[key] = (
                f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in all_columns)}) "
                f"VALUES ({', '.join('?' for _ in all_columns)}) "
                f"ON CONFLICT({', '.join(quote(c) for c in primary_key)}) DO UPDATE SET {updates} "
                f"WHERE {differs}"
            )
        return cache[key]

    def replace_scope(
        self,
        table: str,
        primary_key: Sequence[str],
        scope: Mapping[str, Any],
        rows: Sequence[Mapping[str, Any]],
    ) -> int:
        """Make the live rows matching ``scope`` exactly ``rows``.

        ``scope`` maps columns to a value; one column may map to a list of values
        instead, and the scope is then every row holding one of them (a page of
        invoices' line items, a chunk of customers): one upsert and one soft
        delete for all of them rather than two per value. Every row given must
        lie in the scope. Rows in the scope that are not in ``rows`` are
        soft-deleted, so derived tables (recomputed per customer, say) export
        their removals too. Returns the number of rows written or deleted.
        """
        fixed = {c: v for c, v in scope.items() if not isinstance(v, (list, tuple, set, frozenset))}
        spread = [(c, list(v)) for c, v in scope.items() if c not in fixed]
        if len(spread) > 1:
            raise ValueError(f"replace_scope({table}): one scope column at most may take a list of values")
        if table in self.unkeyed:
            if len(scope) == 1:
                # nothing was stored before this sync: the rows of a list written twice go at its end
                changed = self.upsert_rows(table, primary_key, rows)
                column, parents = spread[0] if spread else (next(iter(fixed)), [*fixed.values()])
                first_load.record_parents(self, table, column, parents, self.current_seq() if rows else None)
                return changed
            first_load.finish_table(self, table)   # another scope: looked up by its indexes
        changed = self.upsert_rows(table, primary_key, rows)
        keep = {tuple(row[c] for c in primary_key) for row in rows}
        selected = f"SELECT {', '.join(quote(c) for c in primary_key)} FROM {quote(table)} WHERE _deleted = 0"
        selected += "".join(f" AND {quote(c)} = ?" for c in fixed)
        stale: list[tuple] = []
        for condition, values in _spread_chunks(spread):
            stale += [
                tuple(key)
                for key in self.db.execute(selected + condition, [*fixed.values(), *values]).fetchall()
                if tuple(key) not in keep
            ]
        return changed + self._soft_delete(table, primary_key, stale)

    def replace_customers(
        self,
        table: str,
        primary_key: Sequence[str],
        provider: str,
        by_customer: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        fresh: bool = False,
    ) -> set[str]:
        """Make the live rows of many customers (of ``provider``) in ``table`` exactly the given ones
        (one :meth:`replace_scope` for them all); returns the customers with a row written or removed.

        ``fresh``: the table held no live row when the build began (a first build; its indexes may be
        deferred): nothing to look for, and every customer given a row is changed.
        """
        if not by_customer:
            return set()
        before = self.current_seq()
        rows = [row for customer_rows in by_customer.values() for row in customer_rows]
        if fresh:
            self.load_rows(table, primary_key, rows)
            return {customer for customer, customer_rows in by_customer.items() if customer_rows}
        customers = list(by_customer)
        self.replace_scope(table, primary_key, {"provider": provider, "customer_id": customers}, rows)
        changed = f"SELECT DISTINCT customer_id FROM {quote(table)} WHERE _seq > ? AND provider = ?"
        return {customer for condition, values in _spread_chunks([("customer_id", customers)])
                for (customer,) in self.db.execute(changed + condition, [before, provider, *values])}


def _spread_chunks(spread: list[tuple[str, list[Any]]]) -> Iterable[tuple[str, list[Any]]]:
    """The extra condition (and its values) per chunk of the listed scope column; one empty one without it."""
    if not spread:
        yield "", []
        return
    column, values = spread[0]
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        yield f" AND {quote(column)} IN ({', '.join('?' for _ in chunk)})", chunk
