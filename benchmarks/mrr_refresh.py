"""What the MRR refresh after a first sync costs, against the sync it follows.

For each account size and server setting, in one run, on one demo Stripe server
(its own process, Stripe-like latency and rate limit):

1. ``billing-connector sync --skip-mrr`` into a new store: the sync alone;
2. ``billing-connector sync`` into another new store: the whole job, sync then the
   refresh (mapping → segments → MRR facts), whose phases the sync summary times.

Printed per case: the sync's wall time, the refresh's (mapping + MRR) and its ratio
to the sync, CPU ms per object with and without the refresh, peak RSS of each
process (the second one's is the whole job's), the machine and its load average.

    .venv/bin/python benchmarks/mrr_refresh.py --customers 2000 --latency-ms 0
    .venv/bin/python benchmarks/mrr_refresh.py --customers 20000 --latency-ms 250 --rate-limit 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_throughput import start_server  # noqa: E402  (the same demo server, started the same way)

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
KEY = "sk_test_benchmark_key_0000000000"
UNLIMITED = 100_000     # requests/s: "no limit" for the server and the connector at 0 latency
OBJECT_TABLES = ("customers", "products", "prices", "plans", "coupons", "promotion_codes", "subscriptions",
                 "subscription_items", "invoices", "invoice_line_items", "invoice_items", "credit_notes", "charges",
                 "refunds", "events")


def run_sync(url: str, db: str, rate: float, skip_mrr: bool) -> dict:
    """One sync process: wall, CPU (rusage), peak RSS and the summary's phase seconds."""
    env = {**os.environ, "STRIPE_API_KEY": KEY, "STRIPE_API_BASE": url,
           "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND_PER_ENDPOINT": str(rate)}
    cmd = [str(BIN / "billing-connector"), "sync", "--db", db, "--json", "--log-level", "error",
           "--max-requests-per-second", str(rate), *(["--skip-mrr"] if skip_mrr else [])]
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"sync failed with exit code {os.waitstatus_to_exitcode(status)}")
        out.seek(0)
        summary = json.loads(out.read())
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "seconds": summary["seconds"]}


def count_objects(db: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return sum(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in OBJECT_TABLES)
    finally:
        conn.close()


def measure(customers: int, latency_ms: int, rate_limit: float, seed: int) -> dict:
    proc, url = start_server(argparse.Namespace(customers=customers, seed=seed, latency_ms=latency_ms,
                                                rate_limit=rate_limit, per_endpoint_limit=rate_limit))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            alone = run_sync(url, str(Path(tmp) / "alone.db"), rate_limit, skip_mrr=True)
            objects = count_objects(str(Path(tmp) / "alone.db"))
            (Path(tmp) / "alone.db").unlink()
            whole = run_sync(url, str(Path(tmp) / "whole.db"), rate_limit, skip_mrr=False)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    refresh = (whole["seconds"]["mapping"] or 0) + (whole["seconds"]["mrr"] or 0)
    return {"customers": customers, "latency_ms": latency_ms, "rate_limit": rate_limit, "objects": objects,
            "alone": alone, "whole": whole, "refresh": refresh, "load": os.getloadavg()}


def report(r: dict) -> None:
    alone, whole = r["alone"], r["whole"]
    sync_seconds = whole["seconds"]["fetch"]
    limit = "unthrottled" if r["rate_limit"] >= UNLIMITED else f"{r['rate_limit']:g} req/s (per route too)"
    print(f"\n{r['customers']:,} customers, {r['objects']:,} objects; server {r['latency_ms']} ms latency, {limit}")
    print(f"  sync alone (--skip-mrr)     {alone['wall']:7.1f} s wall   CPU {1000 * alone['cpu'] / r['objects']:.3f} ms/object "
          f"({alone['cpu']:.1f} s)   peak RSS {alone['rss_mb']:.0f} MB")
    print(f"  sync + refresh (one job)    {whole['wall']:7.1f} s wall   CPU {1000 * whole['cpu'] / r['objects']:.3f} ms/object "
          f"({whole['cpu']:.1f} s)   peak RSS {whole['rss_mb']:.0f} MB")
    print(f"    of which: fetch {sync_seconds:.1f} s, mapping {whole['seconds']['mapping']:.1f} s, "
          f"MRR {whole['seconds']['mrr']:.1f} s")
    print(f"  refresh / sync              {100 * r['refresh'] / sync_seconds:6.1f} %   (refresh {r['refresh']:.1f} s "
          f"after a {sync_seconds:.1f} s sync in the same job)")
    print(f"  load average after: {r['load'][0]:.2f} (1 min), {r['load'][1]:.2f} (5 min) on {os.cpu_count()} CPUs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[2000])
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 250],
                        help="one case per value; 0 runs unthrottled")
    parser.add_argument("--rate-limit", type=float, default=100, help="requests/s when the latency is above 0")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    for customers in args.customers:
        for latency in args.latency_ms:
            report(measure(customers, latency, args.rate_limit if latency else UNLIMITED, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
