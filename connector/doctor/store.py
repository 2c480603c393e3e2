"""The doctor's store checks: integrity, journal, size, permissions, whose data, last sync age.

The store is opened read-only: nothing in the file changes.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Mapping
from pathlib import Path

from .check import ERROR, OK, WARNING, Account, Check

# A nightly cron run plus a generous margin; older than this and the figures are stale.
STALE_SYNC_SECONDS = 36 * 3600
SQLITE_HEADER = b"SQLite format 3\x00"


def _human_size(size: int) -> str:
    return f"{size:,} bytes" if size < 1024 * 1024 else f"{size / (1024 * 1024):,.1f} MiB"


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{int(seconds // 86400)} days"


def check_store(path: str, now: float | None = None, account: Account = None) -> list[Check]:
    """Integrity, WAL, size, permissions, last sync age and (given the key's ``account``) whose
    data it holds; read-only (nothing in the file changes)."""
    store_path = Path(path)
    if not store_path.exists():
        return [Check("store", WARNING, f"no store at {store_path} yet", "run `billing-connector sync --db ...` to create it")]
    if store_path.is_dir():
        return [Check("store", ERROR, f"{store_path} is a directory", "pass a file path with --db")]
    with open(store_path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        return [Check("store", ERROR, f"{store_path} is not an SQLite file", "restore it from a backup or pass another --db")]
    try:
        conn = sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [Check("store", ERROR, f"cannot open {store_path}: {exc}", "check the file and its folder's permissions")]
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        meta = _read_meta(conn)
    except sqlite3.DatabaseError as exc:
        return [Check("store", ERROR, f"{store_path} is unreadable ({exc})", "restore it from a backup")]
    finally:
        conn.close()
    if not {"_meta", "_migrations"} <= tables:
        what = "an SQLite file but not a billing-connector store" if tables else "an empty file, not a billing-connector store"
        return [Check("store", ERROR, f"{store_path} is {what}", "pass the store's path with --db")]
    checks = []
    size = sum(os.path.getsize(p) for p in (store_path, Path(f"{store_path}-wal")) if p.exists())
    stored_account = meta.get("account_id")
    mode_text = {"1": "live", "0": "test"}.get(meta.get("livemode", ""), "no account yet")
    summary = f"{store_path}, {_human_size(size)}, account {stored_account or '–'} ({mode_text})"
    if [row[0] for row in integrity] != ["ok"]:
        problems = "; ".join(str(row[0]) for row in integrity[:3])
        checks.append(Check("store integrity", ERROR, f"{summary}: {problems}", "restore the store from a backup"))
    else:
        checks.append(Check("store integrity", OK, summary))
    if account and stored_account and (stored_account, mode_text) != account:
        checks.append(Check("store account", ERROR, f"the key reaches {account[0]} ({account[1]}), the store holds "
                            f"{stored_account} ({mode_text})", "use that account's key and mode, or another --db"))
    if journal.lower() != "wal":
        checks.append(Check("store journal", WARNING, f"journal_mode {journal}, not wal",
                            "run `billing-connector sync` once: it switches the store to WAL"))
    else:
        checks.append(Check("store journal", OK, "WAL"))
    file_mode = stat.S_IMODE(store_path.stat().st_mode)
    if file_mode & (stat.S_IRWXG | stat.S_IRWXO):
        checks.append(Check("store permissions", WARNING, f"mode {file_mode:o}: others can read your billing data",
                            f"run `chmod 600 {store_path}`"))
    else:
        checks.append(Check("store permissions", OK, f"mode {file_mode:o}"))
    checks.append(_last_sync(meta, time.time() if now is None else now))
    return checks


def _read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_meta'").fetchone()
    if not has_meta:
        return {}
    return {key: value for key, value in conn.execute("SELECT key, value FROM _meta").fetchall()}


def _last_sync(meta: Mapping[str, str], now: float) -> Check:
    finished = meta.get("last_sync_finished_at")
    if not finished:
        return Check("last sync", WARNING, "never finished", "run `billing-connector sync`")
    age = max(now - int(finished), 0)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(finished)))
    if meta.get("last_sync_ok") == "0":
        return Check("last sync", WARNING, f"{when} ({_age(age)} ago) ended with failed streams",
                     "rerun `billing-connector sync` and read its errors")
    if age > STALE_SYNC_SECONDS:
        return Check("last sync", WARNING, f"{when}, {_age(age)} ago", "check the cron line that runs `billing-connector sync`")
    return Check("last sync", OK, f"{when}, {_age(age)} ago")
