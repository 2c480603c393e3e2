"""Bulk loads into empty tables: filled without their key and foreign-key indexes, which are
sorted once at the end.

Rows come keyed by ids in no useful order (random ones, the customer of each invoice in a list by
date, an invoice's id for each of its lines): once a table holds thousands of rows, every row lands
on a leaf of its own in each such index. When those indexes outgrow the page cache, each insert
reads a 16 KiB page back and writes one out: at 20,000 customers a first sync read 49 GiB and wrote
39 GiB for a 3.6 GB store, a third of its CPU in the kernel. Built at the end instead (4 s at 20,000
customers), the sync wrote 7.6 GiB and took a fifth less CPU (BENCHMARKS.md, thirteenth session).

Two loads take it:

* a first sync (:func:`begin`, :func:`finish`): the raw tables without a row when it starts, over
  the many transactions of the sync. The indexes whose rows arrive in order (the change sequence,
  the creation time of lists read newest first) are kept, and the soft-deleted rows' (all but empty). The indexes dropped are recorded in
  ``_meta`` by the transaction that drops them, so a sync killed mid-load leaves the record, and the
  next writable open (which holds the store's writer lock) finishes the load before anything else
  reads or writes. A read-only open meanwhile reads the rows written so far, without the indexes.
* a first build of derived tables (:func:`deferred`: the mapping's, the segments', the MRR facts'):
  every index of the tables given, inside the caller's transaction (a failure leaves them as they
  were). The key index goes only from a table without any row (one holding soft-deleted rows only
  keeps it: a row loaded replaces the one of its key).

While a table loads (``store.loading``):

* a row is inserted, never compared: the table held nothing, so every key is new unless it comes
  twice, and then the last row wins, as the upsert would have it (the load's end drops the earlier
  ones before the key index is built);
* a child list replaced by parent (``replace_scope`` over one column) inserts its rows and records
  each parent in ``_first_load_parents``; a parent whose list was written more than once keeps its
  last list (the load's end soft-deletes the rows of the earlier ones);
* any other write to it (a soft delete by key, a scope of several columns) needs the key index:
  the table's load ends first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .bulk import has_no_rows
from .sql import quote
from .tables import key_columns, key_index_name

if TYPE_CHECKING:
    from .core import Store

META_KEY = "first_load"
PARENTS_TABLE = "_first_load_parents"
# Indexes kept while a table loads: on a column whose rows arrive in order, each near the last; and
# the soft-deleted rows' (a partial index a load's live rows never enter: built at the end, it would
# read the whole table once more).
_KEPT_COLUMNS = {"_seq", "created", "created_at", "date", "_deleted"}


def begin(store: Store) -> list[str]:
    """Put the raw tables without a row into loading; returns their names. Runs its own
    transaction. A table made before the key became a separate index (a store from an older
    version) is written as before. (``open_store`` has finished any load a killed sync left.)"""
    db = store.db
    deferred: dict[str, list[str]] = {}
    for table in store.raw_tables:
        statements = _indexes(db, table)
        if key_index_name(table) not in statements or not has_no_rows(db, table):
            continue
        deferred[table] = [sql for name, sql in statements.items() if not _kept(db, name)]
    if not deferred:
        return []
    with db.atomic():
        for table, statements in deferred.items():
            _drop(store, table, statements)
        store.set_meta(META_KEY, json.dumps(deferred))
    return list(deferred)


@contextmanager
def deferred(store: Store, tables: Iterable[str], defer: bool = True) -> Iterator[None]:
    """Load ``tables`` without their indexes (their SQL read back from the schema) inside the caller's
    transaction, then build them. With ``defer`` False, does nothing."""
    if not defer:
        yield
        return
    db = store.db
    loads = {}
    for table in dict.fromkeys(tables):
        statements = _indexes(db, table)
        keep_key = key_index_name(table) in statements and not has_no_rows(db, table)
        loads[table] = [sql for name, sql in statements.items() if not (keep_key and name == key_index_name(table))]
    for table, statements in loads.items():
        _drop(store, table, statements)
    try:
        yield
        for table in loads:
            if table in store.loading:
                _finish_table(store, table)
        db.execute(f"DROP TABLE IF EXISTS {PARENTS_TABLE}")
    finally:
        for table in loads:
            store.loading.pop(table, None)
            store.unkeyed.discard(table)


def _drop(store: Store, table: str, statements: list[str]) -> None:
    for name, sql in _indexes(store.db, table).items():
        if sql in statements:
            store.db.execute(f"DROP INDEX {quote(name)}")
    store.loading[table] = statements
    if any(quote(key_index_name(table)) in sql for sql in statements):
        store.unkeyed.add(table)
        store.db.execute(f"CREATE TABLE IF NOT EXISTS {PARENTS_TABLE} (tbl TEXT NOT NULL, col TEXT NOT NULL, "
                         "parent TEXT NOT NULL, seq INTEGER)")


def record_parents(store: Store, table: str, column: str, parents: Iterable[Any], seq: int | None) -> None:
    """A loading child table's list replaced for ``parents`` (by ``column``), its rows stamped ``seq``
    (None: the lists were empty)."""
    store.db.conn.executemany(f"INSERT INTO {PARENTS_TABLE} (tbl, col, parent, seq) VALUES (?, ?, ?, ?)",
                              [(table, column, parent, seq) for parent in parents])


def replace_index(db, table: str, old: str, create_sql: str) -> None:
    """A migration's change of one of ``table``'s indexes: ``old`` (a name, quoted in its SQL as
    ``Table.create_step`` writes it) dropped, ``create_sql``
    made. While a first load a killed sync left is recorded for the table, the new index is recorded
    to be built with the others at the load's end instead (made now, it would be filled row by row,
    and the record would build ``old`` again). Runs inside the migration's transaction."""
    db.execute(f"DROP INDEX IF EXISTS {quote(old)}")
    row = db.execute("SELECT value FROM _meta WHERE key = ?", [META_KEY]).fetchone()
    loads = json.loads(row[0]) if row and row[0] else {}
    if table not in loads:
        db.execute(create_sql)
        return
    loads[table] = [sql for sql in loads[table] if quote(old) not in sql] + [create_sql]
    db.execute("UPDATE _meta SET value = ? WHERE key = ?", [json.dumps(loads), META_KEY])


def finish(store: Store) -> None:
    """End a first sync's load (this process's, or one a killed sync left): in one transaction."""
    recorded = store.meta(META_KEY)
    if not recorded:
        return
    with store.db.atomic():
        for table, statements in json.loads(recorded).items():
            if table not in store.loading:   # a load a killed sync left
                store.loading[table] = statements
            _finish_table(store, table)
        store.db.execute(f"DROP TABLE IF EXISTS {PARENTS_TABLE}")
        store.db.execute("DELETE FROM _meta WHERE key = ?", [META_KEY])


def finish_table(store: Store, table: str) -> None:
    """End one table's load (a write that needs its key index), inside the caller's transaction."""
    if table not in store.loading:
        return
    _finish_table(store, table)
    store.db.execute(f"DELETE FROM {PARENTS_TABLE} WHERE tbl = ?", [table])
    recorded = json.loads(store.meta(META_KEY) or "{}")
    if recorded.pop(table, None) is not None:
        store.set_meta(META_KEY, json.dumps(recorded))


def _finish_table(store: Store, table: str) -> None:
    """Drop the earlier rows of a key met twice, build the table's indexes, drop the lists replaced."""
    statements = store.loading.pop(table)
    store.unkeyed.discard(table)
    db = store.db
    key_sql = next((sql for sql in statements if quote(key_index_name(table)) in sql), None)
    if key_sql is not None:
        try:
            with db.atomic():
                db.execute(key_sql)
        except sqlite3.IntegrityError:
            # a key written twice: the row written last stays (rowids rise with every insert of the load)
            key = ", ".join(quote(c) for c in _key_columns(key_sql))
            removed = db.execute(f"DELETE FROM {quote(table)} WHERE rowid NOT IN "
                                 f"(SELECT max(rowid) FROM {quote(table)} GROUP BY {key})").rowcount
            db.execute(key_sql)
            store._tally(table, created=-removed, updated=removed)
    for sql in statements:
        if sql != key_sql:
            db.execute(sql)
    if key_sql is not None:   # only an unkeyed table's lists were recorded
        _drop_replaced_lists(store, table)


def _key_columns(key_sql: str) -> list[str]:
    """The columns of a key index's ``CREATE UNIQUE INDEX ... (cols)`` (as Table.create_step writes it)."""
    inside = key_sql[key_sql.rindex("(") + 1:key_sql.rindex(")")]
    return [column.strip().strip('"') for column in inside.split(",")]


def _drop_replaced_lists(store: Store, table: str) -> None:
    """Soft-delete the rows of a parent's earlier lists where its list was written more than once."""
    db = store.db
    last: dict[tuple[str, Any], int | None] = {}
    for column, parent, seq in db.execute(
            f"SELECT col, parent, seq FROM {PARENTS_TABLE} WHERE tbl = ? AND parent IN "
            f"(SELECT parent FROM {PARENTS_TABLE} WHERE tbl = ? GROUP BY col, parent HAVING count(*) > 1) "
            "ORDER BY rowid", [table, table]):
        last[(column, parent)] = seq
    if not last:
        return
    key = key_columns(db, table)
    stale = [tuple(row) for (column, parent), seq in last.items() for row in db.execute(
        f"SELECT {', '.join(quote(c) for c in key)} FROM {quote(table)} WHERE {quote(column)} = ? "
        "AND _deleted = 0 AND _seq IS NOT ?", [parent, seq])]
    store._soft_delete(table, key, stale)


def _indexes(db, table: str) -> Mapping[str, str]:
    """A table's declared indexes (name -> SQL), in a stable order."""
    return dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                           "AND sql IS NOT NULL ORDER BY name", [table]).fetchall())


def _kept(db, index: str) -> bool:
    columns = [name for (_seqno, _cid, name) in db.execute(f"PRAGMA index_info({quote(index)})").fetchall()]
    return len(columns) == 1 and columns[0] in _KEPT_COLUMNS

