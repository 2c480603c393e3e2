"""MRR history benchmark: the engine vs the dbt mrr-playbook SQL in DuckDB, full vs incremental.

Generates N customers × Y years of month-aligned subscription periods (100,000 ×
5 ≈ 2 million by default, seeded), then times, in one run:

1. engine, in memory: segments → per-customer runs, day and month movements, monthly metrics,
   a batch of customers at a time as a rebuild computes them (without the writes);
2. DuckDB SQL (the playbook's monthly per-customer approach) → customer-months and metrics,
   and checks both give the same customer-months (a checksum over every row);
3. engine.rebuild into a SQLite store (everything written change-only);
4. engine.update after 1 % of customers changed, against the full rebuild.

    .venv/bin/python benchmarks/mrr_history.py                 # the full size
    .venv/bin/python benchmarks/mrr_history.py --customers 2000 --years 2
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.mrr import engine  # noqa: E402
from connector.collector import fewer_collections  # noqa: E402
from connector.mrr.ledger import last_day_of_month  # noqa: E402
from connector.mrr.model import Segment  # noqa: E402
from connector.mrr.playbook_sql import playbook_customer_months, playbook_metrics  # noqa: E402
from connector.store import open_store  # noqa: E402

FIRST_MONTH = date(2020, 1, 1)


class BenchPolicy:
    name = "default"
    reactivation_min_gap_days = 0
    same_month_new_churn_ignored = False
    past_due_auto_churn_days = None
    include_usage_in_mrr = False

    def fingerprint(self) -> str:
        return "benchmark"


def _month(index: int) -> date:
    return date(FIRST_MONTH.year + index // 12, index % 12 + 1, 1)


def generate(customers: int, years: int, seed: int) -> dict[str, list[Segment]]:
    """Month-aligned periods: plan changes every 1–3 months, some gaps, some churn for good."""
    rng = random.Random(seed)
    months = 12 * years
    by_customer: dict[str, list[Segment]] = {}
    for number in range(customers):
        customer_id = f"cus_{number:07d}"
        segments = []
        month = rng.randrange(0, max(1, months // 5))
        amount = rng.choice((900, 1900, 4900, 9900, 19900))
        index = 0
        while month < months:
            length = rng.randint(1, 3)
            end_month = month + length
            end = _month(end_month) if end_month < months or rng.random() < 0.5 else None
            segments.append(Segment(customer_id, "usd", _month(month), end, amount,
                                    source_type="import", source_id=f"{customer_id}:{index}",
                                    subscription_id=f"sub_{customer_id}_{index // 3}"))
            index += 1
            if end is None:
                break
            roll = rng.random()
            if roll < 0.03:
                break                                       # churned for good
            month = end_month + (rng.randint(1, 3) if roll < 0.10 else 0)  # a gap, then back
            amount = max(100, amount + rng.choice((-1000, -500, 500, 1000, 2000)))
        by_customer[customer_id] = segments
    return by_customer


def _checksum(rows) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()[:16]


def segment_source(by_customer: dict[str, list[Segment]]) -> engine.SegmentSource:
    """The generated segments as the engine asks for them (``None``: every customer); reads the
    dict at each call, so a customer changed in it afterwards is seen."""
    def source(_store, _policy, customer_ids):
        ids = by_customer.keys() if customer_ids is None else customer_ids
        return [s for cid in ids for s in by_customer.get(cid, ())]
    return source


def engine_in_memory(by_customer: dict[str, list[Segment]], horizon: date):
    """The engine as a rebuild runs it (``engine.ledgers_by_batch``: a batch of customers at a time,
    each batch's counters added to the month totals) minus the writes. The customer-month rows
    for the checksum are taken from each batch as it goes, inside the timing."""
    source = segment_source(by_customer)
    started, cpu = time.perf_counter(), time.process_time()
    rules = engine.Rules.of(BenchPolicy())
    totals: dict = {}
    rows = []
    with fewer_collections():  # as connector.refresh runs the chain
        for _chunk, ledgers in engine.ledgers_by_batch(None, None, rules, horizon, source, sorted(by_customer)):
            engine.add_month_totals(totals, engine.month_figures(ledgers))
            rows.extend((ledger.customer_id, f.month, f.mrr_minor, f.start_mrr_minor, f.movement, f.movement_minor)
                        for ledger in ledgers for f in ledger.months)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, sorted(rows), len(totals)


def duckdb_sql(segments: list[Segment], horizon: date, workdir: str):
    import duckdb

    path = os.path.join(workdir, "periods.csv")
    with open(path, "w") as handle:
        handle.write("customer_id,start_date,end_date,mrr_minor\n")
        for s in segments:
            handle.write(f"{s.customer_id},{s.start.isoformat()},{s.end.isoformat() if s.end else ''},{s.mrr_minor}\n")
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE periods AS SELECT * FROM read_csv(?, header = true, "
        "columns = {'customer_id': 'VARCHAR', 'start_date': 'DATE', 'end_date': 'DATE', 'mrr_minor': 'BIGINT'})",
        [path],
    )
    started, cpu = time.perf_counter(), time.process_time()
    rows = playbook_customer_months(connection, date(horizon.year, horizon.month, 1).isoformat())
    metrics = playbook_metrics(connection)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu   # DuckDB's threads included
    connection.close()
    return seconds, cpu, rows, len(metrics)


def persisted(by_customer: dict[str, list[Segment]], horizon: date, workdir: str, changed_share: float, seed: int):
    store = open_store(os.path.join(workdir, "bench.db"))
    engine.ensure_tables(store)
    # the stored segments (policy-neutral rows) as a sync or an import would leave them; untimed
    with store.db.atomic():
        store.db.conn.executemany(
            "INSERT INTO mrr_segments(segment_id, provider, customer_id, subscription_id, source_type, source_id, "
            "series, currency, start_date, end_date, amount_minor, interval, interval_count, tags, detail, "
            "_synced_at, _seq) VALUES (?, 'import', ?, ?, 'import', ?, 'mrr', 'usd', ?, ?, ?, 'month', 1, '[]', "
            "'{}', '', 0)",
            (
                (s.source_id, s.customer_id, s.subscription_id, s.source_id, s.start.isoformat(),
                 s.end.isoformat() if s.end else None, s.mrr_minor)
                for group in by_customer.values() for s in group
            ),
        )

    source = segment_source(by_customer)
    started, cpu = time.perf_counter(), time.process_time()
    full = engine.rebuild(store, BenchPolicy(), as_of=horizon, segment_source=source)
    full_seconds, full_cpu = time.perf_counter() - started, time.process_time() - cpu

    rng = random.Random(seed + 1)
    changed = rng.sample(sorted(by_customer), max(1, int(len(by_customer) * changed_share)))
    for customer_id in changed:
        segments = by_customer[customer_id]
        last = segments[-1]
        by_customer[customer_id] = [*segments[:-1], Segment(
            last.customer_id, last.currency, last.start, last.end, last.mrr_minor + 500,
            source_type=last.source_type, source_id=last.source_id, subscription_id=last.subscription_id)]
    started, cpu = time.perf_counter(), time.process_time()
    incremental = engine.update(store, BenchPolicy(), set(changed), as_of=horizon, segment_source=source)
    incremental_seconds, incremental_cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    return (full_seconds, full_cpu), full, (incremental_seconds, incremental_cpu), incremental


def run(customers: int, years: int, seed: int = 7, changed_share: float = 0.01, persist: bool = True) -> dict:
    last_month = _month(12 * years - 1)
    horizon = last_day_of_month(last_month.year, last_month.month)  # as of the last month's end
    by_customer = generate(customers, years, seed)
    segments = [s for group in by_customer.values() for s in group]
    result = {"customers": customers, "years": years, "periods": len(segments)}
    with tempfile.TemporaryDirectory() as workdir:
        engine_seconds, engine_cpu, engine_rows, engine_metric_rows = engine_in_memory(by_customer, horizon)
        sql_seconds, sql_cpu, sql_rows, sql_metric_rows = duckdb_sql(segments, horizon, workdir)
        result.update(
            engine_seconds=engine_seconds, duckdb_seconds=sql_seconds, engine_cpu=engine_cpu, duckdb_cpu=sql_cpu,
            customer_months=len(engine_rows),
            engine_checksum=_checksum(engine_rows), duckdb_checksum=_checksum(sql_rows),
            metric_months=engine_metric_rows, duckdb_metric_months=sql_metric_rows,
        )
        del engine_rows, sql_rows
        if persist:
            full_seconds, full, incremental_seconds, incremental = persisted(
                by_customer, horizon, workdir, changed_share, seed
            )
            result.update(
                rebuild_seconds=full_seconds[0], rebuild_cpu=full_seconds[1], rebuild_rows=full.rows_written,
                incremental_seconds=incremental_seconds[0], incremental_cpu=incremental_seconds[1],
                incremental_customers=incremental.customers, incremental_rows=incremental.rows_written,
                incremental_share=incremental_seconds[0] / full_seconds[0],
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-persist", action="store_true", help="skip the SQLite rebuild and incremental update")
    args = parser.parse_args(argv)
    r = run(args.customers, args.years, args.seed, persist=not args.no_persist)
    print(f"{r['customers']:,} customers × {r['years']} years = {r['periods']:,} subscription periods, "
          f"{r['customer_months']:,} customer-months, {r['metric_months']} metric months")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          "(CPU seconds = this process, DuckDB's threads included)")
    print(f"{'step':<52} {'wall s':>8} {'CPU s':>8}")
    print(f"{'engine, in memory: segments → movements + metrics':<52} {r['engine_seconds']:>8.2f} {r['engine_cpu']:>8.2f}")
    print(f"{'DuckDB SQL (dbt mrr-playbook approach)':<52} {r['duckdb_seconds']:>8.2f} {r['duckdb_cpu']:>8.2f}")
    print(f"{'ratio engine / DuckDB':<52} {r['engine_seconds'] / r['duckdb_seconds']:>8.2f} "
          f"{r['engine_cpu'] / r['duckdb_cpu']:>8.2f}")
    same = r["engine_checksum"] == r["duckdb_checksum"]
    print(f"customer-months identical in both: {same} ({r['engine_checksum']})")
    if "rebuild_seconds" in r:
        label = f"engine.rebuild into SQLite ({r['rebuild_rows']:,} rows)"
        print(f"{label:<52} {r['rebuild_seconds']:>8.2f} {r['rebuild_cpu']:>8.2f}")
        label = f"engine.update, {r['incremental_customers']:,} customers changed (1 %)"
        print(f"{label:<52} {r['incremental_seconds']:>8.2f} {r['incremental_cpu']:>8.2f}")
        print(f"{'incremental / full rebuild':<52} {100 * r['incremental_share']:>7.2f}%")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
