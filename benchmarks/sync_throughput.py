"""How close a full sync gets to Stripe's rate-limit ceiling, and what it costs.

Runs the demo server in its own process (its own core) with Stripe-like latency
and a rate limit, runs `billing-connector sync` in another process, and reads
the figures from the server's own counters and the sync process's rusage:

* ceiling use          = successful requests/s ÷ the rate limit
* useful efficiency    = fewest list requests a complete extraction needs
                         ÷ (wall seconds × the rate limit)
* 429 share, objects/s, CPU ms per object (sync process), peak RSS.

Then a nightly incremental run after ~1 % of customers changed.

    .venv/bin/python benchmarks/sync_throughput.py --customers 5000 --rate-limit 25 --latency-ms 250
    .venv/bin/python benchmarks/sync_throughput.py --customers 20000 --rate-limit 100 --latency-ms 250
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
KEY = "sk_test_benchmark_key_0000000000"


def start_server(args) -> tuple[subprocess.Popen, str]:
    cmd = [
        str(BIN / "python"), "-m", "connector.demo.server", "--port", "0",
        "--customers", str(args.customers), "--seed", str(args.seed),
        "--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit),
    ]
    if args.per_endpoint_limit:
        cmd += ["--per-endpoint-rate-limit", str(args.per_endpoint_limit)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"demo server did not start: {line!r}")
    return proc, line.split()[-1]


def control(url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method="POST" if data is not None or path.endswith("reset") else "GET")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def run_sync(url: str, db: str, rate: float, per_endpoint: float, extra: list[str] = (), in_flight: int | None = None) -> dict:
    env = {**os.environ, "STRIPE_API_KEY": KEY, "STRIPE_API_BASE": url,
           **({"BILLING_CONNECTOR_MAX_IN_FLIGHT": str(in_flight)} if in_flight else {}),
           # 0 = no cap: a cap as high as the account ceiling never binds
           "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND_PER_ENDPOINT": str(per_endpoint or rate)}
    cmd = [str(BIN / "billing-connector"), "sync", "--db", db, "--quiet", "--skip-mrr",
           "--max-requests-per-second", str(rate), *extra]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sync failed with exit code {os.waitstatus_to_exitcode(status)}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_mb": usage.ru_maxrss / 1024}


def fewest_requests(db: str) -> tuple[int, int]:
    """(fewest list requests for a complete extraction, objects extracted)."""
    conn = sqlite3.connect(db)
    top = ["customers", "products", "prices", "plans", "coupons", "promotion_codes", "subscriptions",
           "invoices", "invoice_items", "credit_notes", "charges", "refunds"]
    requests = objects = 0
    for table in top:
        n = conn.execute(f'select count(*) from "{table}"').fetchone()[0]
        requests += max(1, math.ceil(n / 100))
        objects += n
    for child, parent in (("invoice_line_items", "invoice"), ("subscription_items", "subscription")):
        for (count,) in conn.execute(f'select count(*) from "{child}" group by "{parent}" having count(*) > 10'):
            requests += math.ceil(count / 100)
        objects += conn.execute(f'select count(*) from "{child}"').fetchone()[0]
    return requests, objects


def stat(stats: dict, *names: str) -> int:
    for name in names:
        if name in stats:
            return int(stats[name])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=250)
    parser.add_argument("--rate-limit", type=float, default=25)
    parser.add_argument(
        "--per-endpoint-limit", type=float, default=25,
        help="per-route limit of the server AND the connector's cap (0: none on either side)",
    )
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument(
        "--compare-sequential", action="store_true",
        help="also sync the same account one request at a time (how tap-stripe and most connectors page) and print the ratio",
    )
    args = parser.parse_args()

    proc, url = start_server(args)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "bench.db")
            control(url, "/_demo/stats/reset", {})
            run = run_sync(url, db, args.rate_limit, args.per_endpoint_limit)
            stats = control(url, "/_demo/stats")
            ok = stat(stats, "ok", "successful", "succeeded")
            # The network phase, from the server's own clock: first request to last response.
            network = stats["last_request_at"] - stats["first_request_at"] + args.latency_ms / 1000
            limited = stat(stats, "rate_limited", "429")
            total = stat(stats, "total", "requests")
            needed, objects = fewest_requests(db)
            print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
            per_route = f"{args.per_endpoint_limit:g} req/s per route" if args.per_endpoint_limit else "no per-route limit"
            print(f"account: {args.customers} customers, {objects:,} objects; server {args.latency_ms} ms latency, "
                  f"limit {args.rate_limit:g} req/s, {per_route}")
            print(f"full sync: {run['wall']:.1f} s wall ({network:.1f} s between first request and last response), {total:,} requests ({ok:,} ok, {limited:,} answered 429 = {100 * limited / max(1, total):.2f} %)")
            print(f"  requests/s (ok)    {ok / network:.1f}")
            print(f"  ceiling use        {100 * ok / network / args.rate_limit:.1f} %")
            print(f"  useful efficiency  {100 * needed / (network * args.rate_limit):.1f} %   (fewest requests needed: {needed:,})")
            print(f"  objects/s          {objects / network:,.0f}")
            print(f"  CPU per object     {1000 * run['cpu'] / max(1, objects):.3f} ms   ({run['cpu']:.1f} s CPU)")
            print(f"  peak RSS           {run['maxrss_mb']:.0f} MB")
            if args.compare_sequential:
                sequential_db = str(Path(tmp) / "sequential.db")
                control(url, "/_demo/stats/reset", {})
                run_sync(url, sequential_db, args.rate_limit, args.per_endpoint_limit, in_flight=1)
                seq_stats = control(url, "/_demo/stats")
                seq_network = seq_stats["last_request_at"] - seq_stats["first_request_at"] + args.latency_ms / 1000
                print(f"one request in flight (the usual connector): {seq_network:.1f} s, "
                      f"{seq_stats['successful'] / seq_network:.1f} req/s = {100 * seq_stats['successful'] / seq_network / args.rate_limit:.1f} % of the ceiling; "
                      f"this connector is {seq_network / network:.1f}x faster on the same account")
            if args.skip_incremental:
                return
            conn = sqlite3.connect(db)
            ids = [r[0] for r in conn.execute("select id from customers where _deleted = 0 order by id")]
            changed = ids[:: max(1, len(ids) // max(1, len(ids) // 100))][: max(1, len(ids) // 100)]
            for cid in changed:
                req = urllib.request.Request(
                    f"{url}/v1/customers/{cid}", data=b"metadata[bench]=changed", method="POST",
                    headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"},
                )
                urllib.request.urlopen(req, timeout=30).read()
            # The sync stays 60 s behind now (the events list is eventually consistent).
            time.sleep(62)
            control(url, "/_demo/stats/reset", {})
            inc = run_sync(url, db, args.rate_limit, args.per_endpoint_limit)
            stats = control(url, "/_demo/stats")
            print(f"incremental after {len(changed)} customers changed (1 %): {inc['wall']:.1f} s, "
                  f"{stat(stats, 'total', 'requests')} requests (full sync: {total:,})")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
