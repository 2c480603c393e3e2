"""The local SQLite store: raw provider objects, sync state and account meta.

Conventions every layer relies on (see docs/store.md):

* One account and one mode (test or live) per file, recorded in ``_meta`` and
  checked on every open; a mismatch is refused before anything is written.
* Every data table carries ``_synced_at`` (when the row last changed),
  ``_deleted`` (soft delete: the row stays) and ``_seq``: the store-wide change
  sequence of the transaction that last changed the row. Downstream layers (the
  mapping, the MRR engine, exports) read "what changed since seq N".
* Writes are change-only: an upsert of an identical row writes nothing and
  allocates no sequence number, so a rerun with no upstream change changes
  nothing in the file.
* A page of objects and the cursor that follows it are written in one
  ``db.atomic()`` transaction; WAL mode lets a reader see whole pages only.
* Schema changes are registered migrations, recorded in ``_migrations`` per
  namespace (``raw``, ``neutral``, ``mrr``, ``export`` ...), never ad hoc ALTERs.
"""

from __future__ import annotations

import json
import os
import time
from operator import itemgetter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from .errors import StoreError
from .jsontext import canonical_json
from .streams import RAW_TABLES, RawTable

META_COLUMNS = ("_synced_at", "_deleted", "_seq")

Migration = tuple[str, Callable[[sqlite_utils.Database], None]]


def quote(identifier: str) -> str:
    """Quote an SQL identifier; names from upstream data never reach SQL unquoted."""
    return '"' + identifier.replace('"', '""') + '"'


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class AccountIdentity:
    provider: str
    account_id: str
    livemode: bool
    api_version: str


class Store:
    """A billing-connector SQLite file. Open with :func:`open_store`."""

    read_only = False  # set by open_store(read_only=True): migrations are refused, not applied
    lock: str | None = None  # the writer lock a writable open holds (storelock), released by close()
    # A dict to tally rows created / updated / deleted per table (the sync summary), or None.
    changes: dict[str, dict[str, int]] | None = None

    def __init__(self, db: sqlite_utils.Database, path: str | None):
        self.db = db
        self.path = path
        # The raw tables of the provider this store holds (one provider account per file);
        # open_store sets them from the store's meta, or the provider a new store is for.
        self.provider = "stripe"
        self.raw_tables: Mapping[str, RawTable] = RAW_TABLES
        # Who quarantines a record this run (connector/quarantine.py), and how many so far.
        self.run_id = f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
        self.rejected_this_run = 0

    # ---- meta -------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM _meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO _meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def account(self) -> AccountIdentity | None:
        if self.meta("account_id") is None:
            return None
        return AccountIdentity(
            provider=self.meta("provider") or "",
            account_id=self.meta("account_id") or "",
            livemode=self.meta("livemode") == "1",
            api_version=self.meta("api_version") or "",
        )

    def bind_account(self, identity: AccountIdentity) -> None:
        """Record the account this store holds, or refuse one that differs.

        Raises StoreError (nothing written) when the file already holds another
        account, the other mode, or data fetched under another API version.
        """
        current = self.account()
        if current is None:
            with self.db.atomic():
                self.set_meta("provider", identity.provider)
                self.set_meta("account_id", identity.account_id)
                self.set_meta("livemode", "1" if identity.livemode else "0")
                self.set_meta("api_version", identity.api_version)
            return
        mode = {True: "live", False: "test"}
        if current.livemode != identity.livemode:
            raise StoreError(
                f"{self.path} holds {mode[current.livemode]}-mode data but the key is "
                f"{mode[identity.livemode]}-mode: use a {mode[current.livemode]} key or another --db"
            )
        if (current.provider, current.account_id) != (identity.provider, identity.account_id):
            raise StoreError(
                f"{self.path} holds account {current.account_id} ({current.provider}), "
                f"not {identity.account_id}: use that account's key or another --db"
            )
        if current.api_version != identity.api_version:
            raise StoreError(
                f"{self.path} was synced with API version {current.api_version}, this "
                f"connector pins {identity.api_version}: run `sync --full-refresh` into a new --db"
            )

    # ---- change sequence --------------------------------------------------
    def current_seq(self) -> int:
        return int(self.meta("seq", "0") or 0)

    def _claim_seq(self) -> int:
        """The sequence number the open transaction will stamp on changed rows."""
        return self.current_seq() + 1

    def _commit_seq(self, seq: int) -> None:
        self.set_meta("seq", str(seq))

    # ---- raw objects ------------------------------------------------------
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
        seq = self._claim_seq()
        where = " AND ".join(f"{quote(c)} = ?" for c in pk)
        before = self.db.conn.total_changes
        for key in keys:
            self.db.execute(
                f"UPDATE {quote(table)} SET _deleted = 1, _seq = ?, _synced_at = ? "
                f"WHERE {where} AND _deleted = 0",
                [seq, _now_iso(), *[key[c] for c in pk]],
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

    # ---- any table with the meta columns ---------------------------------
    def upsert_rows(
        self, table: str, primary_key: Sequence[str], rows: Sequence[Mapping[str, Any]]
    ) -> int:
        """Change-only upsert of plain rows into an existing table.

        A row identical to the stored one (all non-meta columns equal, same
        ``_deleted``) is not written. Returns the number of rows written.
        """
        if not rows:
            return 0
        seq = self._claim_seq()
        synced_at = _now_iso()
        columns = tuple(c for c in rows[0].keys() if c not in META_COLUMNS)
        sql = self._upsert_sql(table, tuple(primary_key), columns)
        # itemgetter builds each value tuple in C: this loop is the hot path of
        # both the sync writer and a full MRR rebuild.
        values = itemgetter(*columns) if len(columns) > 1 else (lambda row, c=columns[0]: (row[c],))
        tail = (synced_at, seq)
        # Rows are never removed and new ones get rowids above the current maximum,
        # so "created" is the count above it afterwards (only when a tally is kept).
        top = self._max_rowid(table) if self.changes is not None else 0
        before = self.db.conn.total_changes
        self.db.conn.executemany(
            sql,
            (values(row) + (tail[0], int(row.get("_deleted", 0)), tail[1]) for row in rows),
        )
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
            all_columns = [*columns, "_synced_at", "_deleted", "_seq"]
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

    def replace_children(
        self,
        table: str,
        primary_key: Sequence[str],
        parent_column: str,
        children_by_parent: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> int:
        """:meth:`replace_scope` for many parents at once (one page of invoices, say).

        Each parent's live children become exactly the given rows; the rest are
        soft-deleted. Two statements per page instead of two per parent.
        """
        if not children_by_parent:
            return 0
        rows = [row for children in children_by_parent.values() for row in children]
        changed = self.upsert_rows(table, primary_key, rows) if rows else 0
        keep = {tuple(row[c] for c in primary_key) for row in rows}
        parents = list(children_by_parent)
        stale: list[tuple] = []
        for start in range(0, len(parents), 500):
            chunk = parents[start:start + 500]
            stale += [
                tuple(key)
                for key in self.db.execute(
                    f"SELECT {', '.join(quote(c) for c in primary_key)} FROM {quote(table)} "
                    f"WHERE {quote(parent_column)} IN ({', '.join('?' for _ in chunk)}) AND _deleted = 0",
                    chunk,
                ).fetchall()
                if tuple(key) not in keep
            ]
        if stale:
            seq = self._claim_seq()
            cond = " AND ".join(f"{quote(c)} = ?" for c in primary_key)
            self.db.conn.executemany(
                f"UPDATE {quote(table)} SET _deleted = 1, _seq = ?, _synced_at = ? WHERE {cond}",
                [(seq, _now_iso(), *key) for key in stale],
            )
            self._commit_seq(seq)
            self._tally(table, deleted=len(stale))
        return changed + len(stale)

    def replace_scope(
        self,
        table: str,
        primary_key: Sequence[str],
        scope: Mapping[str, Any],
        rows: Sequence[Mapping[str, Any]],
    ) -> int:
        """Make the live rows matching ``scope`` exactly ``rows``.

        Rows in the scope that are not in ``rows`` are soft-deleted, so derived
        tables (recomputed per customer, say) export their removals too.
        Returns the number of rows written or deleted.
        """
        changed = self.upsert_rows(table, primary_key, rows)
        keep = {tuple(row[c] for c in primary_key) for row in rows}
        where = " AND ".join(f"{quote(c)} = ?" for c in scope) or "1"
        stale = [
            dict(zip(primary_key, key))
            for key in self.db.execute(
                f"SELECT {', '.join(quote(c) for c in primary_key)} FROM {quote(table)} "
                f"WHERE {where} AND _deleted = 0",
                list(scope.values()),
            ).fetchall()
            if tuple(key) not in keep
        ]
        if stale:
            seq = self._claim_seq()
            cond = " AND ".join(f"{quote(c)} = ?" for c in primary_key)
            for key in stale:
                self.db.execute(
                    f"UPDATE {quote(table)} SET _deleted = 1, _seq = ?, _synced_at = ? WHERE {cond}",
                    [seq, _now_iso(), *key.values()],
                )
            self._commit_seq(seq)
        return changed + len(stale)

    # ---- sync state -------------------------------------------------------
    def get_state(self, stream: str) -> dict[str, Any] | None:
        """The committed cursor of a stream for the bound account, or None."""
        account = self.account()
        if account is None:
            return None
        row = self.db.execute(
            "SELECT state FROM _sync_state WHERE provider = ? AND account_id = ? AND stream = ?",
            [account.provider, account.account_id, stream],
        ).fetchone()
        return json.loads(row[0]) if row else None

    def set_state(self, stream: str, state: Mapping[str, Any]) -> bool:
        """Write a stream's cursor (inside the page's transaction). Returns True if it changed."""
        account = self.account()
        if account is None:
            raise StoreError("the store has no account bound yet; sync binds it first")
        text = canonical_json(state)
        before = self.db.conn.total_changes
        self.db.execute(
            "INSERT INTO _sync_state(provider, account_id, stream, state, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(provider, account_id, stream) DO UPDATE SET "
            "state = excluded.state, updated_at = excluded.updated_at "
            "WHERE _sync_state.state IS NOT excluded.state",
            [account.provider, account.account_id, stream, text, _now_iso()],
        )
        return self.db.conn.total_changes > before

    def all_states(self) -> dict[str, dict[str, Any]]:
        account = self.account()
        if account is None:
            return {}
        return {
            stream: {"state": json.loads(state), "updated_at": updated_at}
            for stream, state, updated_at in self.db.execute(
                "SELECT stream, state, updated_at FROM _sync_state "
                "WHERE provider = ? AND account_id = ? ORDER BY stream",
                [account.provider, account.account_id],
            ).fetchall()
        }

    # ---- migrations -------------------------------------------------------
    def migrate(self, namespace: str, steps: Sequence[Migration]) -> list[str]:
        """Apply, in order, the steps of ``namespace`` not yet recorded as applied."""
        done = {
            name
            for (name,) in self.db.execute(
                "SELECT name FROM _migrations WHERE namespace = ?", [namespace]
            ).fetchall()
        }
        applied = []
        for name, step in steps:
            if name in done:
                continue
            if self.read_only:
                raise StoreError(
                    f"{self.path} lacks this version's {namespace} tables ({name}): run "
                    "`billing-connector sync` or `billing-connector backfill` once; reads never change the store"
                )
            with self.db.atomic():
                step(self.db)
                self.db.execute(
                    "INSERT INTO _migrations(namespace, name, applied_at) VALUES (?, ?, ?)",
                    [namespace, name, _now_iso()],
                )
            applied.append(name)
        return applied

    def table_counts(self) -> dict[str, int]:
        """Live (not soft-deleted) rows per raw table."""
        return {
            name: self.db.execute(f"SELECT count(*) FROM {quote(name)} WHERE _deleted = 0").fetchone()[0]
            for name in self.raw_tables
        }

    def close(self) -> None:
        self.db.close()
        if self.lock is not None:
            from . import storelock  # the writer lock a writable open took

            storelock.release(self.lock)
            self.lock = None


# Opening, validating and migrating a store file lives in its own module.
from .storefile import RAW_MIGRATIONS, open_store  # noqa: E402  (needs Store, defined above)

__all__ = ["AccountIdentity", "Migration", "RAW_MIGRATIONS", "Store", "canonical_json", "open_store", "quote"]
