"""How close a full sync gets to Stripe's rate-limit ceiling, and what it costs.

Runs the demo server in its own process (its own core) with Stripe-like latency
and a rate limit, runs `billing-connector sync` in another process, and reads
the figures from the server's own counters and the sync process's rusage:

* ideal                = the shortest network phase Stripe's limits allow:
                         max(fewest requests ÷ account limit,
                             the busiest endpoint's fewest requests ÷ its limit)
                         (the server enforces 25/s per route as Stripe does, unless told otherwise;
                         every ``GET /v1/invoices/{id}/lines`` counts as one route)
* efficiency           = ideal ÷ the network phase (first request to last response)
* ceiling use          = successful requests/s ÷ the account limit
* useful efficiency    = fewest list requests a complete extraction needs
                         ÷ (network seconds × the account limit)
* 429 share, objects/s, CPU ms per object (sync process), peak RSS, and when the
  busiest endpoint's requests began and how busy it was kept.

Then a nightly incremental run after ~1 % of customers changed.

    .venv/bin/python benchmarks/sync_throughput.py --customers 2000 --rate-limit 25 --latency-ms 250
    .venv/bin/python benchmarks/sync_throughput.py --customers 2000 --rate-limit 100 --latency-ms 250
    # an account of another shape (connector/demo/shapes.py): seat-based B2B, the lines endpoint binds
    .venv/bin/python benchmarks/sync_throughput.py --shape seats --customers 60 --rate-limit 100 --skip-incremental
    # side by side with Singer's tap-stripe on the same account (installed in a venv of its own)
    .venv/bin/python benchmarks/sync_throughput.py --customers 2000 --rate-limit 100 --latency-ms 250 \
        --skip-incremental --compare-tap-stripe /tmp/tap-stripe-venv/bin/python
    # CPU alone: no latency, no limit, profiled with py-spy
    .venv/bin/python benchmarks/sync_throughput.py --customers 2000 --rate-limit 0 --latency-ms 0 --profile /tmp/sync.txt
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


def compile_tree(root: Path) -> None:
    """Compile a checkout's modules into its ``__pycache__`` before it is timed. Where
    PYTHONDONTWRITEBYTECODE is set (this project's machines), nothing an interpreter compiles is
    kept: a checkout without its bytecode (a new ``git worktree``) compiled every module in every
    timed process, 0.05-0.15 CPU s each, 400 M instructions of a 300-customer refresh's 8.5 G
    (``make`` compiles the main checkout; ``py_compile`` writes whatever the variable says)."""
    subprocess.run([str(BIN / "python"), "-m", "compileall", "-qq", "-j", "0",
                    *(str(root / part) for part in ("connector", "benchmarks"))], check=True)


def start_server(args) -> tuple[subprocess.Popen, str]:
    compile_tree(ROOT)
    cmd = [
        str(BIN / "python"), "-m", "connector.demo.server", "--port", "0",
        "--customers", str(args.customers), "--seed", str(args.seed),
        "--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit),
    ]
    if getattr(args, "shape", None):
        cmd += ["--shape", args.shape]
    if getattr(args, "latency_jitter_ms", 0):
        cmd += ["--latency-jitter-ms", str(args.latency_jitter_ms)]
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


# The connector's ceiling when the server has no rate limit (--rate-limit 0): never the bottleneck.
UNTHROTTLED = 100_000


def run_sync(url: str, db: str, rate: float, per_endpoint: float, extra: list[str] = (), in_flight: int | None = None,
             profile: str | None = None, with_mrr: bool = False) -> dict:
    env = {**os.environ, "STRIPE_API_KEY": KEY, "STRIPE_API_BASE": url,
           **({"BILLING_CONNECTOR_MAX_IN_FLIGHT": str(in_flight)} if in_flight else {}),
           # 0 = no cap: a cap as high as the account ceiling never binds
           "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND_PER_ENDPOINT": str(per_endpoint or rate or UNTHROTTLED)}
    cmd = [str(BIN / "billing-connector"), "sync", "--db", db, "--quiet", *([] if with_mrr else ["--skip-mrr"]),
           "--max-requests-per-second", str(rate or UNTHROTTLED), *extra]
    if profile:
        # py-spy samples the sync (GIL holders only) and writes a speedscope/flamegraph file;
        # its own CPU is not the sync's, but rusage below counts children: read CPU from a run without it
        cmd = [str(BIN / "py-spy"), "record", "--gil", "--nonblocking", "--rate", "50", "--format", "raw", "-o", profile, "--", *cmd]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sync failed with exit code {os.waitstatus_to_exitcode(status)}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_mb": usage.ru_maxrss / 1024}


# The endpoint each stream's list pages count against (the demo server's names for Stripe's routes).
LIST_ENDPOINTS = {
    "customers": "/v1/customers", "products": "/v1/products", "prices": "/v1/prices", "plans": "/v1/plans",
    "coupons": "/v1/coupons", "promotion_codes": "/v1/promotion_codes", "subscriptions": "/v1/subscriptions",
    "invoices": "/v1/invoices", "invoice_items": "/v1/invoiceitems", "credit_notes": "/v1/credit_notes",
    "charges": "/v1/charges", "refunds": "/v1/refunds",
}
# Nested lists read in full when the parent's embedded ten are not all: (table, parent column, endpoint).
NESTED_ENDPOINTS = (
    ("invoice_line_items", "invoice", "/v1/invoices/{id}/lines"),
    ("subscription_items", "subscription", "/v1/subscription_items"),
    ("invoice_payments", "invoice", "/v1/invoice_payments"),
)


# What Singer's tap-stripe is asked to read: its streams for the tables this connector fills, named
# as those tables are (it has none for prices, promotion codes, credit notes or refunds).
TAP_STREAMS = ("customers", "products", "plans", "coupons", "subscriptions", "subscription_items", "invoices",
               "invoice_line_items", "invoice_items", "charges")


def compare_tap_stripe(python: str, url: str, db: str, tmp: Path, network: float, total: int, limited: int,
                       run: dict, latency_ms: int) -> None:
    """Run Singer's tap-stripe on the account just synced and print both side by side: network time,
    requests, 429s, CPU, and the records it emitted against the distinct objects (duplicates)
    and the rows this connector stored."""
    shim = str(ROOT / "benchmarks" / "tap_stripe_shim.py")
    conn = sqlite3.connect(db)
    earliest = min(conn.execute(f"SELECT min(created) FROM {table}").fetchone()[0] or time.time()
                   for table in ("customers", "invoices", "products", "coupons"))
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(earliest - 86400))
    config = tmp / "tap-config.json"
    config.write_text(json.dumps({"client_secret": KEY, "account_id": "acct_benchmark", "start_date": start}))
    env = {**os.environ, "STRIPE_API_BASE": url}
    catalog = json.loads(subprocess.run([python, shim, "--config", str(config), "--discover"], env=env,
                                        check=True, capture_output=True, text=True).stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in TAP_STREAMS
    selected = tmp / "tap-catalog.json"
    selected.write_text(json.dumps(catalog))
    records = tmp / "tap-records.jsonl"
    control(url, "/_demo/stats/reset", {})
    started = time.monotonic()
    with open(records, "w") as out, open(tmp / "tap-stderr.log", "w") as err:
        proc = subprocess.Popen([python, shim, "--config", str(config), "--catalog", str(selected)],
                                env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tap-stripe failed with exit code {os.waitstatus_to_exitcode(status)}: "
                         f"see {tmp / 'tap-stderr.log'} (kept only while this run lasts)")
    stats = control(url, "/_demo/stats")
    tap_network = stats["last_request_at"] - stats["first_request_at"] + latency_ms / 1000
    emitted: dict[str, int] = {}
    distinct: dict[str, set] = {}
    with open(records) as handle:
        for line in handle:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                emitted[message["stream"]] = emitted.get(message["stream"], 0) + 1
                distinct.setdefault(message["stream"], set()).add(message["record"].get("id"))
    cpu = usage.ru_utime + usage.ru_stime
    tap_total = stat(stats, "total", "requests")
    print(f"Singer's tap-stripe on the same account (start_date {start}): {wall:.1f} s wall, "
          f"{tap_network:.1f} s between first request and last response, {tap_total:,} requests "
          f"({stat(stats, 'rate_limited', '429'):,} answered 429), {cpu:.1f} s CPU, "
          f"peak RSS {usage.ru_maxrss / 1024:.0f} MB")
    print(f"  this connector: {network:.1f} s between first request and last response, {total:,} requests "
          f"({limited:,} answered 429), {run['cpu']:.1f} s CPU (it also stores every object): "
          f"{tap_network / network:.1f}x faster on the network")
    print("  per stream, tap records emitted / distinct ids / this connector's stored rows: " + ", ".join(
        f"{stream} {emitted.get(stream, 0):,}/{len(distinct.get(stream, ())):,}/"
        f"{conn.execute(f'SELECT count(*) FROM {stream} WHERE _deleted = 0').fetchone()[0]:,}"
        for stream in TAP_STREAMS))
    conn.close()


def stored_objects(db: str) -> int:
    """The objects a sync stored: the rows of every raw table of the Stripe store (each list's
    objects, the nested lists' — invoice lines, subscription items, invoice payments — and the
    events kept), deleted ones included. Every benchmark here divides CPU seconds by this count."""
    from connector.store.raw_stripe import RAW_TABLES

    conn = sqlite3.connect(db)
    try:
        present = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return sum(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in RAW_TABLES if name in present)
    finally:
        conn.close()


def fewest_requests(db: str) -> dict[str, int]:
    """{endpoint: fewest requests a complete extraction needs there}.

    One request per 100 objects of each stream, plus the pages of each nested list
    longer than the ten its parent embeds (Stripe: ``GET /v1/invoices/{id}/lines``
    for every invoice counts as ONE endpoint).
    """
    conn = sqlite3.connect(db)
    needed: dict[str, int] = {}
    for table, endpoint in LIST_ENDPOINTS.items():
        n = conn.execute(f'select count(*) from "{table}"').fetchone()[0]
        needed["GET " + endpoint] = max(1, math.ceil(n / 100))
    for child, parent, endpoint in NESTED_ENDPOINTS:
        pages = sum(math.ceil(count / 100) for (count,) in conn.execute(
            f'select count(*) from "{child}" group by "{parent}" having count(*) > 10'))
        if pages:
            needed["GET " + endpoint] = pages
    conn.close()
    return needed


def ideal_seconds(needed: dict[str, int], rate: float, per_endpoint: float) -> tuple[float, str]:
    """The shortest possible network phase: max(all requests ÷ account limit, each endpoint's ÷ its limit)."""
    bound, why = sum(needed.values()) / rate, "account limit"
    if per_endpoint:
        endpoint, most = max(needed.items(), key=lambda item: item[1])
        if most / per_endpoint > bound:
            bound, why = most / per_endpoint, f"busiest endpoint {endpoint} ({most:,} requests at {per_endpoint:g}/s)"
    return bound, why


def timeline_summary(stats: dict, endpoint: str, per_endpoint: float) -> str:
    """When the endpoint's requests began and ended, and how busy it was meanwhile."""
    seconds = stats.get("per_second", {}).get(endpoint) or []
    busy = [i for i, n in enumerate(seconds) if n]
    if not busy:
        return f"{endpoint}: no requests"
    first, last = busy[0], busy[-1]
    span = last - first + 1
    total = sum(seconds)
    use = f", {100 * total / span / per_endpoint:.0f} % of its limit meanwhile" if per_endpoint else ""
    return f"{endpoint}: first request in second {first}, last in second {last}: {total / span:.1f}/s{use}"


def print_timeline(stats: dict, endpoints: list[str], width: int = 5) -> None:
    """Requests per ``width`` seconds of each endpoint, side by side."""
    per_second = stats.get("per_second", {})
    series = {e: per_second.get(e) or [] for e in endpoints}
    length = max((len(s) for s in per_second.values()), default=0)
    series["other"] = [sum(s[i] for e, s in per_second.items() if e not in endpoints and i < len(s))
                       for i in range(length)]
    endpoints = [*endpoints, "other"]
    print("  second " + "".join(f"{e.removeprefix('GET /v1/')[:22]:>24}" for e in endpoints))
    for start in range(0, length, width):
        cells = "".join(f"{sum(series[e][start:start + width]) / width:>24.1f}" for e in endpoints)
        print(f"  {start:>6} {cells}")


def stat(stats: dict, *names: str) -> int:
    for name in names:
        if name in stats:
            return int(stats[name])
    return 0


def requests_since_reset(url: str, latency_ms: int) -> dict:
    """The requests the server saw since its counters were reset (``/_demo/stats/reset``), by its own
    clock: the network phase (first request to last response), requests made, answered 429."""
    stats = control(url, "/_demo/stats")
    return {"network": stats["last_request_at"] - stats["first_request_at"] + latency_ms / 1000,
            "requests": stat(stats, "total", "requests"), "limited": stat(stats, "rate_limited", "429")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shape", default=None,
                        help="the demo server's account shape (saas, b2c, seats, young, usage; default saas)")
    parser.add_argument("--latency-ms", type=int, default=250)
    parser.add_argument("--latency-jitter-ms", type=int, default=0,
                        help="each response's latency varies by up to this much either way (the demo server's option)")
    parser.add_argument("--rate-limit", type=float, default=25)
    parser.add_argument(
        "--per-endpoint-limit", type=float, default=None,
        help="per-route limit of the server AND the connector's cap (0: none on either side; "
             "default 25 as Stripe's, none with --rate-limit 0)",
    )
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument("--timeline", action="store_true",
                        help="print the busiest endpoints' requests per 5 seconds (how the sync paced itself)")
    parser.add_argument("--timeline-seconds", type=int, default=5, metavar="N",
                        help="with --timeline: requests per N seconds (1: how the first round trips went)")
    parser.add_argument("--profile", metavar="FILE",
                        help="record the full sync with py-spy (--gil, collapsed stacks) into FILE; needs py-spy in .venv "
                             "(.venv/bin/pip install py-spy); CPU and RSS are then py-spy's, not the sync's")
    parser.add_argument("--with-mrr", action="store_true",
                        help="the whole job: the sync then its MRR refresh (mapping, segments, MRR facts), as cron runs it; "
                             "CPU and RSS are then the whole job's")
    parser.add_argument(
        "--compare-sequential", action="store_true",
        help="also sync the same account one request at a time (how tap-stripe and most connectors page) and print the ratio",
    )
    parser.add_argument(
        "--compare-tap-stripe", metavar="PYTHON",
        help="also run Singer's tap-stripe on the same account, with PYTHON the interpreter of a venv it is installed in "
             "(python3 -m venv /tmp/tap-stripe-venv && /tmp/tap-stripe-venv/bin/pip install tap-stripe; "
             "benchmarks/tap_stripe_shim.py says what is adapted), and print both side by side",
    )
    args = parser.parse_args()
    if args.per_endpoint_limit is None:
        args.per_endpoint_limit = 25.0 if args.rate_limit else 0.0

    proc, url = start_server(args)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "bench.db")
            control(url, "/_demo/stats/reset", {})
            run = run_sync(url, db, args.rate_limit, args.per_endpoint_limit, profile=args.profile,
                           with_mrr=args.with_mrr)
            stats = control(url, "/_demo/stats")
            ok = stat(stats, "ok", "successful", "succeeded")
            # The network phase, from the server's own clock: first request to last response.
            network = stats["last_request_at"] - stats["first_request_at"] + args.latency_ms / 1000
            limited = stat(stats, "rate_limited", "429")
            total = stat(stats, "total", "requests")
            needed, objects = fewest_requests(db), stored_objects(db)
            minimum = sum(needed.values())
            ideal, bound = ideal_seconds(needed, args.rate_limit or math.inf, args.per_endpoint_limit)
            print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at the end")
            per_route = f"{args.per_endpoint_limit:g} req/s per route" if args.per_endpoint_limit else "no per-route limit"
            print(f"account: {args.customers} customers ({args.shape or 'saas'} shape), {objects:,} objects; server {args.latency_ms} ms latency, "
                  f"limit {args.rate_limit:g} req/s, {per_route}")
            print(f"full sync: {run['wall']:.1f} s wall ({network:.1f} s between first request and last response), {total:,} requests ({ok:,} ok, {limited:,} answered 429 = {100 * limited / max(1, total):.2f} %)")
            print(f"  ideal              {ideal:.1f} s   (bound by the {bound}; fewest requests needed: {minimum:,})")
            print(f"  efficiency         {100 * ideal / network:.1f} %   (ideal ÷ network phase)")
            print(f"  requests/s (ok)    {ok / network:.1f}")
            if args.rate_limit:
                print(f"  ceiling use        {100 * ok / network / args.rate_limit:.1f} %")
                print(f"  useful efficiency  {100 * minimum / (network * args.rate_limit):.1f} %   (fewest needed ÷ seconds × account limit)")
            print(f"  objects/s          {objects / network:,.0f}")
            print(f"  CPU per object     {1000 * run['cpu'] / max(1, objects):.3f} ms   ({run['cpu']:.1f} s CPU{', sync and MRR refresh' if args.with_mrr else ', sync alone'})")
            print(f"  peak RSS           {run['maxrss_mb']:.0f} MB")
            # Most of the sync's CPU is Python holding the GIL (SQLite's part runs beside it): about a
            # floor under the wall time on any machine, whatever the scheduler does.
            print(f"  CPU floor          ~{run['cpu']:.1f} s   (about {100 * ideal / max(ideal, run['cpu']):.0f} % "
                  "efficiency at most at this CPU cost per object, on one free core)")
            busiest = max(needed, key=needed.get)
            print("  " + timeline_summary(stats, busiest, args.per_endpoint_limit))
            print("  requests per endpoint (made / fewest needed): " + ", ".join(
                f"{name.removeprefix('GET ')} {stats['endpoints'].get(name, 0):,}/{count:,}"
                for name, count in sorted(needed.items(), key=lambda item: -item[1])))
            others = {name: count for name, count in stats["endpoints"].items() if name not in needed}
            if others:
                print("  other requests (not in the fewest needed): " + ", ".join(
                    f"{name} {count:,}" for name, count in sorted(others.items(), key=lambda item: -item[1])))
            if args.timeline:
                print_timeline(stats, sorted(needed, key=needed.get, reverse=True)[:5], args.timeline_seconds)
            if args.compare_sequential:
                sequential_db = str(Path(tmp) / "sequential.db")
                control(url, "/_demo/stats/reset", {})
                run_sync(url, sequential_db, args.rate_limit, args.per_endpoint_limit, in_flight=1)
                seq_stats = control(url, "/_demo/stats")
                seq_network = seq_stats["last_request_at"] - seq_stats["first_request_at"] + args.latency_ms / 1000
                print(f"one request in flight (the usual connector): {seq_network:.1f} s, "
                      f"{seq_stats['successful'] / seq_network:.1f} req/s = {100 * seq_stats['successful'] / seq_network / args.rate_limit:.1f} % of the ceiling, "
                      f"{100 * ideal / seq_network:.1f} % of the ideal; "
                      f"this connector is {seq_network / network:.1f}x faster on the same account")
            if args.compare_tap_stripe:
                compare_tap_stripe(args.compare_tap_stripe, url, db, Path(tmp), network, total, limited, run,
                                   args.latency_ms)
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
