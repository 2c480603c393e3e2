"""What making a store row's text costs per object, against orjson's own floor.

The sync turns every object it reads into its canonical text (``jsontext.canonical_text``:
``json.dumps``'s text, sorted keys, ASCII escapes, written by orjson) and checks its
numbers (``values``: walked only when the text may show one past the bounds). This times,
over every stored object of a synced store (``sync --skip-mrr``), per table and in all:

* ``orjson``: ``orjson.dumps(obj, option=OPT_SORT_KEYS)`` alone, the floor;
* ``row text``: ``canonical_text`` and the value walk where it asks for one, as ``sync/pages.py``
  does;
* ``walk``: the value walk of every object (what the text scans spare).

The objects are parsed from the stored texts first (the cycle collector off, as the sync runs);
each figure is the best of three passes. Stored texts have sorted keys, which orjson sorts faster
than a server's order: ``--unsorted`` shuffles every object's keys first (a fixed seed), as the
sync meets them.

    .venv/bin/python benchmarks/row_text.py /tmp/synced-2000.db [--unsorted]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sqlite3
import time

import orjson

from connector.store.jsontext import canonical_text
from connector.values import number_problem


def best_of_three(work) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def row_texts(objects: list) -> None:
    for obj in objects:
        _text, unusual = canonical_text(obj)
        if unusual:
            number_problem(obj)


def shuffled(value, rng: random.Random):
    """``value`` with the keys of every object in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store")
    parser.add_argument("--unsorted", action="store_true", help="shuffle each object's keys first (a server's order)")
    args = parser.parse_args()
    conn = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True)
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' "
        "AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'billing\\_%' ESCAPE '\\' AND name NOT LIKE 'mrr\\_%' ESCAPE '\\' "
        "ORDER BY name")]
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'table':24s} {'objects':>8s} {'bytes':>6s} {'orjson':>8s} {'row text':>9s} {'walk':>8s}   (µs/object)")
    totals = [0, 0.0, 0.0, 0.0]
    gc.disable()
    for table in tables:
        columns = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
        if "data" not in columns:
            continue
        texts = [text for (text,) in conn.execute(f'SELECT data FROM "{table}"')]
        if not texts:
            continue
        objects = [orjson.loads(text) for text in texts]
        if args.unsorted:
            rng = random.Random(table)
            objects = [shuffled(o, rng) for o in objects]
        floor = best_of_three(lambda: [orjson.dumps(o, option=orjson.OPT_SORT_KEYS) for o in objects])
        row = best_of_three(lambda: row_texts(objects))
        walk = best_of_three(lambda: [number_problem(o) for o in objects])
        n = len(objects)
        print(f"{table:24s} {n:8,d} {sum(map(len, texts)) // n:6d} {1e6 * floor / n:8.2f} {1e6 * row / n:9.2f} "
              f"{1e6 * walk / n:8.2f}")
        totals[0] += n
        totals[1] += floor
        totals[2] += row
        totals[3] += walk
        del objects, texts
        gc.collect()
    n = max(1, totals[0])
    print(f"{'all':24s} {totals[0]:8,d} {'':6s} {1e6 * totals[1] / n:8.2f} {1e6 * totals[2] / n:9.2f} {1e6 * totals[3] / n:8.2f}"
          f"   ({totals[2]:.2f} s for the row texts of the whole account)")


if __name__ == "__main__":
    main()
