"""Per-target, per-table export watermarks, kept in the store.

A watermark is the store ``_seq`` up to which a table's rows are known to be in a
target. It advances only after the target committed that table, so a failed or
killed export re-sends from the last committed point (targets merge by primary
key, so a re-send never duplicates). Keyed by the target's identity, which never
contains a password (see each target's ``identity``).
"""

from __future__ import annotations

import sqlite_utils

from ..store import Migration, Store, _now_iso

WATERMARK_TABLE = "_export_watermarks"


def _create_watermarks(db: sqlite_utils.Database) -> None:
    db.execute(
        f"CREATE TABLE {WATERMARK_TABLE} ("
        "target TEXT NOT NULL, table_name TEXT NOT NULL, seq INTEGER NOT NULL, "
        "rows_sent INTEGER NOT NULL, exported_at TEXT NOT NULL, "
        "PRIMARY KEY (target, table_name))"
    )


EXPORT_MIGRATIONS: list[Migration] = [("0001_export_watermarks", _create_watermarks)]


def ensure_watermarks(store: Store) -> None:
    store.migrate("export", EXPORT_MIGRATIONS)


def get_watermark(store: Store, target: str, table: str) -> int:
    row = store.db.execute(
        f"SELECT seq FROM {WATERMARK_TABLE} WHERE target = ? AND table_name = ?", [target, table]
    ).fetchone()
    return int(row[0]) if row else 0


def all_watermarks(store: Store, target: str) -> dict[str, int]:
    return dict(
        store.db.execute(
            f"SELECT table_name, seq FROM {WATERMARK_TABLE} WHERE target = ? ORDER BY table_name", [target]
        ).fetchall()
    )


def set_watermark(store: Store, target: str, table: str, seq: int, rows_sent: int) -> None:
    """Record that ``table`` is in ``target`` up to ``seq`` (call after the target committed)."""
    with store.db.atomic():
        store.db.execute(
            f"INSERT INTO {WATERMARK_TABLE} (target, table_name, seq, rows_sent, exported_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (target, table_name) DO UPDATE SET "
            "seq = excluded.seq, rows_sent = excluded.rows_sent, exported_at = excluded.exported_at",
            [target, table, seq, rows_sent, _now_iso()],
        )
