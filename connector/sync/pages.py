"""A fetched page on its way into the store: prepared in a worker, written by the writer.

Workers turn a page of provider objects into store rows (canonical JSON and
typed columns) before handing it over: rows are about an eighth of the memory
of the parsed objects, so pages waiting for the writer stay cheap whatever the
concurrency, and the one writer thread only runs SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..store import quarantine
from ..errors import PaginationError
from ..providers.base import Child, Page, StreamSpec
from ..store.quarantine import Rejected
from ..store import Store
from ..store.tables import RawTable
from ..values import identity_problem, number_problem
from .enums import EnumWatch

SEEN_TABLE = "_full_refresh_seen"

ENUMS = EnumWatch()


@dataclass
class PreparedPage:
    rows: list[dict[str, Any]]
    has_more: bool
    # the ends of the page, all the slice logic needs: [{"id", "created"}, ...]
    ends: list[dict[str, Any]]
    # child table -> {parent id: child rows}
    children: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    # objects that cannot be stored: quarantined by the writer, the rest of the page goes on
    rejected: list[Rejected] = field(default_factory=list)
    # the latest update time among the page's objects (streams read by updated_since), else None
    max_updated: int | None = None
    next_token: str | None = None   # the provider's token for the next page
    # (child table, parent id) of the child lists the provider left to read (Page.deferred)
    deferred: list[tuple[str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)


def _rows(spec: RawTable, stream: str, objects: list[Any], rejected: list[Rejected]) -> tuple[list[dict], list]:
    """(store rows, the objects they came from); what cannot be stored goes to ``rejected``."""
    rows, kept = [], []
    for obj in objects:
        problem = identity_problem(obj)
        if problem is None:
            row, unusual = spec.scanned_row(obj)
            # the values are walked only when the text made for the row may show a number past the bounds
            problem = number_problem(obj) if unusual else None
        if problem is not None:
            rejected.append(Rejected.of(stream, obj, problem))
            continue
        rows.append(row)
        kept.append(obj)
    return rows, kept


def prepare_page(stream: str, page: Page, spec: StreamSpec, tables: Mapping[str, RawTable]) -> PreparedPage:
    """Rows for a page and its children; runs in the fetching thread.

    An object the catalog marks as a tombstone (``spec.tombstone_field`` true:
    a list read with deleted records included) is stored soft-deleted.
    """
    rejected: list[Rejected] = []
    rows, kept = _rows(tables[stream], stream, page.objects, rejected)
    if page.has_more and not kept:
        raise PaginationError(
            f"{stream}: a page of {len(page.objects)} objects with more to come, none of them storable "
            "(no id to page on); nothing after it can be read"
        )
    if spec.tombstone_field:
        for row, obj in zip(rows, kept):
            if obj.get(spec.tombstone_field) is True:
                row["_deleted"] = 1
    ENUMS.check(stream, spec.known_values, kept)
    # The slice logic pages on these: a rejected object (no id) cannot be a cursor.
    created = spec.creation_field
    ends = [{"id": o["id"], "created": o.get(created) if created else None} for o in (kept[:1] + kept[-1:])]
    prepared = PreparedPage(rows, page.has_more, ends, rejected=rejected, max_updated=_max_updated(spec, kept),
                            next_token=page.next_token)
    kept_ids = {o["id"] for o in kept}
    # Only the children the catalog keeps in tables of their own; other embedded lists stay in the parent.
    for child in spec.child_lists:
        if child.table not in page.children:
            continue
        by_parent = prepared.children.setdefault(child.table, {})
        for parent_id, children in page.children[child.table]:
            if parent_id in kept_ids:
                rows = child_rows(child, parent_id, children, tables, rejected)
                if rows is not None:
                    by_parent[parent_id] = rows
    # lists left to read (page.deferred): of the parents kept; the others will not be written
    prepared.deferred = [(table, parent_id) for table, ids in page.deferred.items() for parent_id in ids
                         if parent_id in kept_ids]
    return prepared


def child_rows(child: Child, parent_id: str, children: list[Any], tables: Mapping[str, RawTable],
               rejected: list[Rejected]) -> list[dict[str, Any]] | None:
    """A parent's child list as store rows, or None when one child cannot be stored (it goes to
    ``rejected``): the parent's stored children are then left as they were rather than replaced by
    an incomplete list (which would delete one)."""
    column = child.parent_column
    named = [{**c, column: c.get(column) or parent_id} if isinstance(c, dict) else c for c in children]
    before = len(rejected)
    rows, _ = _rows(tables[child.table], child.table, named, rejected)
    return rows if len(rejected) == before else None


def _max_updated(spec: StreamSpec, objects: list[dict[str, Any]]) -> int | None:
    if not spec.update_field:
        return None
    times = [o.get(spec.update_field) for o in objects]
    return max((t for t in times if isinstance(t, int) and not isinstance(t, bool)), default=None)


def write_prepared(
    store: Store, spec: StreamSpec, page: PreparedPage, *, track_seen: bool = False
) -> int:
    """Upsert a page's rows and replace each parent's children (inside the caller's transaction)."""
    stream = spec.name
    quarantine.record(store, page.rejected)
    # every row written here passed the value checks in prepare_page: the mapping need not check it again
    with store.checked_seqs.writing(store):
        changed = store.upsert_rows(stream, store.raw_tables[stream].primary_key, page.rows)
        quarantine.release(store, stream, [row["id"] for row in page.rows])
        parent_columns = {child.table: child.parent_column for child in spec.child_lists}
        for child_table, by_parent in page.children.items():
            table = store.raw_tables[child_table]
            rows = [row for children in by_parent.values() for row in children]
            changed += store.replace_scope(child_table, table.primary_key,
                                           {parent_columns[child_table]: list(by_parent)}, rows)
            quarantine.release(store, child_table, [row["id"] for rows in by_parent.values() for row in rows])
    if track_seen and page.rows:
        ensure_seen_table(store)
        store.db.conn.executemany(
            f"INSERT OR IGNORE INTO {SEEN_TABLE}(stream, id) VALUES (?, ?)", [(stream, row["id"]) for row in page.rows]
        )
    return changed


def write_page(store: Store, spec: StreamSpec, page: Page, *, track_seen: bool = False) -> int:
    """Prepare and write in one go (the events pass, which writes single objects)."""
    prepared = prepare_page(spec.name, page, spec, store.raw_tables)
    return write_prepared(store, spec, prepared, track_seen=track_seen)


def replace_children(store: Store, table: str, parent_column: str, parent_id: str, children: list[dict[str, Any]]) -> int:
    spec = store.raw_tables[table]
    rows = [spec.to_row({**child, parent_column: child.get(parent_column) or parent_id}) for child in children]
    return store.replace_scope(table, spec.primary_key, {parent_column: parent_id}, rows)


def ensure_seen_table(store: Store) -> None:
    store.db.execute(f"CREATE TABLE IF NOT EXISTS {SEEN_TABLE} (stream TEXT, id TEXT, PRIMARY KEY (stream, id))")


def soft_delete_unseen(store: Store, spec: StreamSpec) -> int:
    """After a full re-read: rows the provider no longer lists are gone upstream."""
    stream = spec.name
    ensure_seen_table(store)
    ids = [
        row[0]
        for row in store.db.execute(
            f'SELECT id FROM "{stream}" WHERE _deleted = 0 AND id NOT IN '
            f"(SELECT id FROM {SEEN_TABLE} WHERE stream = ?)",
            [stream],
        ).fetchall()
    ]
    removed = store.mark_deleted(stream, [{"id": i} for i in ids])
    for child in spec.child_lists:
        store.replace_scope(child.table, store.raw_tables[child.table].primary_key, {child.parent_column: ids}, [])
    store.db.execute(f"DELETE FROM {SEEN_TABLE} WHERE stream = ?", [stream])
    return removed
