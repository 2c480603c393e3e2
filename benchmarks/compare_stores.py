"""Compare what two refreshes wrote: every neutral, segment, MRR fact, metrics and quarantine row.

For a speed change to the refresh: refresh copies of one synced store with the code
before and after (``mrr_refresh.py --isolated STORE --keep PATH`` in each checkout),
then compare. Rows are compared whole, ``_seq`` and ``_deleted`` included (the same
store refreshed the same way numbers its changes the same); only the write times
differ and are left out. ``--ignore-seq`` for stores synced separately (the sync's
pages arrive in another order each run, so their numbers differ).

    .venv/bin/python benchmarks/compare_stores.py /tmp/before.db /tmp/after.db

Exits 1 when a table differs, naming it and the first rows that do.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

WRITE_TIMES = {"_synced_at", "first_seen", "last_seen", "run", "computed_at"}


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND "
        "(name LIKE 'billing\\_%' ESCAPE '\\' OR name LIKE 'mrr\\_%' ESCAPE '\\' OR name = '_quarantine') "
        "ORDER BY name")]


def rows(conn: sqlite3.Connection, table: str, ignore: set[str]) -> tuple[list[str], list[tuple]]:
    columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")') if r[1] not in ignore]
    select = ", ".join(f'"{c}"' for c in columns)
    return columns, sorted(conn.execute(f'SELECT {select} FROM "{table}"').fetchall(), key=repr)


def compare(before: str, after: str, ignore_seq: bool = False) -> int:
    ignore = WRITE_TIMES | ({"_seq"} if ignore_seq else set())
    a, b = sqlite3.connect(f"file:{before}?mode=ro", uri=True), sqlite3.connect(f"file:{after}?mode=ro", uri=True)
    differing = 0
    names_a, names_b = _tables(a), _tables(b)
    if names_a != names_b:
        print(f"tables differ: only before {sorted(set(names_a) - set(names_b))}, "
              f"only after {sorted(set(names_b) - set(names_a))}")
        differing += 1
    total = 0
    for table in sorted(set(names_a) & set(names_b)):
        columns_a, rows_a = rows(a, table, ignore)
        columns_b, rows_b = rows(b, table, ignore)
        total += len(rows_a)
        if (columns_a, rows_a) == (columns_b, rows_b):
            print(f"  {table:42s} {len(rows_a):>9,} rows  identical")
            continue
        differing += 1
        print(f"  {table:42s} {len(rows_a):>9,} / {len(rows_b):,} rows  DIFFER")
        if columns_a != columns_b:
            print(f"    columns: {columns_a} / {columns_b}")
        only_a, only_b = set(rows_a) - set(rows_b), set(rows_b) - set(rows_a)
        for row in sorted(only_a, key=repr)[:3]:
            print(f"    only before: {row}")
        for row in sorted(only_b, key=repr)[:3]:
            print(f"    only after:  {row}")
    print(f"{len(names_a)} tables, {total:,} rows compared ({'without' if ignore_seq else 'with'} _seq): "
          f"{'all identical' if not differing else f'{differing} differ'}")
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--ignore-seq", action="store_true", help="leave _seq out (stores synced separately)")
    args = parser.parse_args(argv)
    return compare(args.before, args.after, args.ignore_seq)


if __name__ == "__main__":
    sys.exit(main())
