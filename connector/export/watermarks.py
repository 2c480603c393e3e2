"""Per-target, per-table export watermarks, kept in the store, and the store's timeline.

A watermark is the store ``_seq`` up to which a table's rows are known to be in a
target. It advances only after the target committed that table, so a failed or
killed export re-sends from the last committed point (targets merge by primary
key, so a re-send never duplicates). Keyed by the target's identity, which never
contains a password (see each target's ``identity``).

A store restored from a backup goes back in its change sequence, and the next
sync reuses sequence numbers the targets already hold from the lost history: a
watermark alone would then skip those changes. So every store carries an
identity and a *timeline* (random ids in ``_meta``), each watermark records the
timeline it was made on, and before a table is sent the seq it is about to reach
is recorded as ``pending`` (the highest seq this store ever started sending).
A target that reports having more of this store than ``pending`` must have
received it from a history the store no longer has: the store starts a new
timeline, and every watermark of another timeline means "send in full".
"""

from __future__ import annotations

import uuid

import sqlite_utils

from ..store import Migration, Store
from ..store.sql import now_iso

WATERMARK_TABLE = "_export_watermarks"


def _create_watermarks(db: sqlite_utils.Database) -> None:
    db.execute(
        f"CREATE TABLE {WATERMARK_TABLE} ("
        "target TEXT NOT NULL, table_name TEXT NOT NULL, seq INTEGER NOT NULL, "
        "rows_sent INTEGER NOT NULL, exported_at TEXT NOT NULL, "
        "PRIMARY KEY (target, table_name))"
    )


def _add_timeline_columns(db: sqlite_utils.Database) -> None:
    # '' = made before timelines existed: trusted as this store's own
    db.execute(f"ALTER TABLE {WATERMARK_TABLE} ADD COLUMN timeline TEXT NOT NULL DEFAULT ''")
    db.execute(f"ALTER TABLE {WATERMARK_TABLE} ADD COLUMN pending INTEGER NOT NULL DEFAULT 0")


EXPORT_MIGRATIONS: list[Migration] = [
    ("0001_export_watermarks", _create_watermarks),
    ("0002_watermark_timeline", _add_timeline_columns),
]


def ensure_watermarks(store: Store) -> None:
    store.migrate("export", EXPORT_MIGRATIONS)


def store_identity(store: Store) -> tuple[str, str]:
    """(store id, timeline) of this store, created on first use."""
    with store.db.atomic():
        store_id, timeline = store.meta("store_id"), store.meta("timeline")
        if not store_id:
            store_id = uuid.uuid4().hex
            store.set_meta("store_id", store_id)
        if not timeline:
            timeline = uuid.uuid4().hex
            store.set_meta("timeline", timeline)
    return store_id, timeline


def new_timeline(store: Store) -> str:
    """Start a new timeline: the change sequence went backwards (a restored backup)."""
    timeline = uuid.uuid4().hex
    with store.db.atomic():
        store.set_meta("timeline", timeline)
    return timeline


def get_watermark(store: Store, target: str, table: str, timeline: str | None = None) -> int:
    """The seq ``table`` is in ``target`` up to; 0 (send in full) when made on another ``timeline``."""
    row = store.db.execute(
        f"SELECT seq, timeline FROM {WATERMARK_TABLE} WHERE target = ? AND table_name = ?", [target, table]
    ).fetchone()
    if row is None or (timeline is not None and row[1] not in ("", timeline)):
        return 0
    return max(0, int(row[0]))


def high_water(store: Store, target: str, table: str) -> int:
    """The highest seq this store ever recorded for ``table`` in ``target``: sent, or about to be."""
    row = store.db.execute(
        f"SELECT max(seq, pending) FROM {WATERMARK_TABLE} WHERE target = ? AND table_name = ?", [target, table]
    ).fetchone()
    return int(row[0]) if row else 0


def set_pending(store: Store, target: str, table: str, seq: int, timeline: str) -> None:
    """Record, before the target sees it, the seq a load is about to reach (seq -1: never loaded yet)."""
    with store.db.atomic():
        store.db.execute(
            f"INSERT INTO {WATERMARK_TABLE} (target, table_name, seq, rows_sent, exported_at, timeline, pending) "
            "VALUES (?, ?, -1, 0, ?, ?, ?) ON CONFLICT (target, table_name) DO UPDATE SET "
            "pending = max(pending, excluded.pending)",
            [target, table, now_iso(), timeline, seq],
        )


def all_watermarks(store: Store, target: str) -> dict[str, int]:
    return dict(
        store.db.execute(
            f"SELECT table_name, seq FROM {WATERMARK_TABLE} WHERE target = ? AND seq >= 0 ORDER BY table_name",
            [target]
        ).fetchall()
    )


def set_watermark(store: Store, target: str, table: str, seq: int, rows_sent: int, timeline: str = "") -> None:
    """Record that ``table`` is in ``target`` up to ``seq`` on ``timeline`` (after the target committed)."""
    with store.db.atomic():
        store.db.execute(
            f"INSERT INTO {WATERMARK_TABLE} (target, table_name, seq, rows_sent, exported_at, timeline, pending) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, table_name) DO UPDATE SET "
            "seq = excluded.seq, rows_sent = excluded.rows_sent, exported_at = excluded.exported_at, "
            "timeline = excluded.timeline, pending = max(pending, excluded.seq)",
            [target, table, seq, rows_sent, now_iso(), timeline, seq],
        )
