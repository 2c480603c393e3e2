"""Checks on a store after (or while) a sync ran under faults: used by benchmarks/faults.py
and the stateful test.

``snapshot`` is what a store holds, comparable across stores; ``Watcher`` is a
concurrent reader that records every committed cursor and checks pages are whole.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from pathlib import Path

from connector.store.raw_stripe import RAW_TABLES

BOOKKEEPING_COLUMNS = {"_seq", "_synced_at"}


# ---- what a store holds ------------------------------------------------------------------
def _normalised(value):
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every table but the sync's bookkeeping: rows sorted, JSON normalised, no _seq/_synced_at.

    Raw tables keep their soft-deleted rows (a deletion is data); derived tables
    (neutral, MRR) compare live rows only.
    """
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = {}
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        for name in names:
            if name.startswith(("_", "sqlite_")):
                continue
            columns = [r[1] for r in conn.execute(f'pragma table_info("{name}")')]
            kept = [c for c in columns if c not in BOOKKEEPING_COLUMNS]
            where = " where _deleted = 0" if "_deleted" in columns and name not in RAW_TABLES else ""
            select = ", ".join(f'"{c}"' for c in kept)
            rows = [tuple(_normalised(v) for v in row) for row in conn.execute(f'select {select} from "{name}"{where}')]
            tables[name] = sorted(rows, key=repr)
        return tables
    finally:
        conn.close()


def compare(clean: dict[str, list[tuple]], repaired: dict[str, list[tuple]]) -> tuple[int, int]:
    """(clean rows missing or changed in the repaired store, rows only the repaired store has)."""
    lost = extra = 0
    for table in set(clean) | set(repaired):
        want, got = Counter(clean.get(table, [])), Counter(repaired.get(table, []))
        lost += sum((want - got).values())
        extra += sum((got - want).values())
    return lost, extra


def duplicate_keys(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        total = 0
        for name, spec in RAW_TABLES.items():
            keys = ", ".join(spec.primary_key)
            total += conn.execute(f'select count(*) - (select count(*) from (select distinct {keys} from "{name}")) '
                                  f'from "{name}"').fetchone()[0]
        return total
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def mrr_tables(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {name: rows for name, rows in tables.items() if name.startswith("mrr_")}


def mrr_recompute_delta(db: Path, work: Path) -> int:
    """Rows of the mrr_* tables that change when a copy of the store is recomputed from scratch."""
    from connector.refresh import backfill
    from connector.mrr.policy import load_policy
    from connector.store import open_store

    copy = work / "recompute.db"
    conn = sqlite3.connect(db)
    conn.execute(f"vacuum into '{copy}'")
    conn.close()
    store = open_store(copy)
    try:
        # backfill maps every raw object and recomputes every customer, writing only
        # rows that differ: any row it changes is one the incremental path got wrong
        backfill(store, load_policy("default"))
    finally:
        store.close()
    lost, extra = compare(mrr_tables(snapshot(db)), mrr_tables(snapshot(copy)))
    return lost + extra


# ---- watching a store while a sync writes it -----------------------------------------------
class Watcher:
    """A concurrent reader: records every committed cursor and checks pages are whole."""

    def __init__(self, db: Path):
        self.db = db
        self.previous: dict | None = None
        self.regressions: list[str] = []
        self.torn: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self) -> dict | None:
        if not self.db.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1)
        except sqlite3.Error:
            return None
        try:
            conn.execute("begin")  # one read transaction: state and rows from the same commit
            seq_row = conn.execute("select value from _meta where key = 'seq'").fetchone()
            states = {s: json.loads(v) for s, v in conn.execute("select stream, state from _sync_state")}
            for stream, state in states.items():
                if state.get("phase") != "full" or state.get("refresh"):
                    continue
                rows = conn.execute(f'select count(*) from "{stream}"').fetchone()[0]
                if rows != state.get("rows", 0):
                    self.torn.append(f"{stream}: {rows} rows under a cursor covering {state.get('rows')}")
                for piece in state.get("slices", []):
                    if piece.get("after") and not conn.execute(
                            f'select 1 from "{stream}" where id = ?', [piece["after"]]).fetchone():
                        self.torn.append(f"{stream}: cursor {piece['after']} committed without its page")
            observation = {"seq": int(seq_row[0]) if seq_row else 0, "states": states}
        except sqlite3.Error:
            return None  # the schema is still being created
        finally:
            conn.close()
        self._check(observation)
        return observation

    def _check(self, now: dict) -> None:
        before, self.previous = self.previous, now
        if before is None:
            return
        if now["seq"] < before["seq"]:
            self.regressions.append(f"change seq {before['seq']} -> {now['seq']}")
        for stream, old in before["states"].items():
            new = now["states"].get(stream)
            if new is None:
                self.regressions.append(f"{stream}: cursor disappeared")
                continue
            if int(new.get("events_cursor", 0)) < int(old.get("events_cursor", 0)):
                self.regressions.append(f"{stream}: events_cursor {old['events_cursor']} -> {new['events_cursor']}")
            if old.get("phase") == "incremental" and new.get("phase") == "full" and not new.get("refresh"):
                self.regressions.append(f"{stream}: incremental -> full")
            # A full read's row count only grows, except when a --full-refresh starts the read over
            # from the top: that re-reads everything, so a smaller count skips nothing.
            if (old.get("phase") == new.get("phase") == "full" and not new.get("refresh")
                    and new.get("rows", 0) < old.get("rows", 0)):
                self.regressions.append(f"{stream}: full-read rows {old.get('rows')} -> {new.get('rows')}")

    def __enter__(self) -> "Watcher":
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.observe()
            self._stop.wait(0.01)

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.observe()
