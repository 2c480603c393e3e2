"""Records that could not be stored or mapped: kept aside with their reason, never fatal.

One object without an id, or with an amount no column can hold, must not stop
the page, the stream, the MRR refresh or an export. It goes to ``_quarantine``
instead — its stream, its id when it has one, why, and the bytes as received —
is counted by ``status`` and the run's summary, and the run ends with exit 8
("completed with rejected records"). When a later version of the object is
stored (or mapped) cleanly, its quarantine row is released.

A row is keyed by (stream, fingerprint): the object id, or for an object
without one a hash of its bytes, so a page read twice quarantines it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .sql import now_iso

TABLE = "_quarantine"


@dataclass(frozen=True)
class Rejected:
    stream: str
    object_id: str | None
    reason: str
    raw: bytes

    @classmethod
    def of(cls, stream: str, obj: Any, reason: str) -> "Rejected":
        object_id = obj.get("id") if isinstance(obj, dict) else None
        try:
            raw = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        except (TypeError, ValueError):  # not JSON-serialisable after all: keep its repr
            raw = repr(obj).encode()
        return cls(stream, object_id if isinstance(object_id, str) and object_id else None, reason, raw)

    @property
    def fingerprint(self) -> str:
        return self.object_id or "sha256:" + hashlib.sha256(self.raw).hexdigest()


def create_table(db) -> None:
    """The migration step (namespace ``raw``)."""
    db.execute(
        f"CREATE TABLE {TABLE} (stream TEXT NOT NULL, fingerprint TEXT NOT NULL, object_id TEXT, "
        "reason TEXT NOT NULL, raw BLOB NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, "
        "run TEXT NOT NULL, PRIMARY KEY (stream, fingerprint))"
    )


def record(store, rejected: Sequence[Rejected]) -> None:
    """Quarantine (or re-see) rejected records, inside the caller's transaction."""
    if not rejected:
        return
    now, run = now_iso(), store.run_id
    store.db.conn.executemany(
        f"INSERT INTO {TABLE}(stream, fingerprint, object_id, reason, raw, first_seen, last_seen, run) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(stream, fingerprint) DO UPDATE SET "
        "reason = excluded.reason, raw = excluded.raw, last_seen = excluded.last_seen, run = excluded.run",
        [(r.stream, r.fingerprint, r.object_id, r.reason, r.raw, now, now, run) for r in rejected],
    )
    store.rejected_this_run += len(rejected)


def release(store, stream: str, object_ids: Iterable[str]) -> None:
    """Objects now stored cleanly leave the quarantine (a no-op while it is empty)."""
    if not store.db.execute(f"SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE stream = ?)", [stream]).fetchone()[0]:
        return
    store.db.conn.executemany(
        f"DELETE FROM {TABLE} WHERE stream = ? AND fingerprint = ?", [(stream, i) for i in object_ids]
    )


def counts(store) -> dict[str, int]:
    """Quarantined records per stream (everything still held, from any run); {} for a store
    not yet migrated (opened read-only, it is not)."""
    if not store.db[TABLE].exists():
        return {}
    return dict(store.db.execute(f"SELECT stream, count(*) FROM {TABLE} GROUP BY stream ORDER BY stream").fetchall())


def rows(store) -> list[dict[str, Any]]:
    """What is held, for `status --json`: no raw bytes (they may be large)."""
    cursor = store.db.execute(
        f"SELECT stream, object_id, reason, first_seen, last_seen, run FROM {TABLE} ORDER BY stream, fingerprint"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]
