"""What the MRR refresh after a first sync costs, against the sync it follows.

For each account size and server setting, in one run, on one demo Stripe server
(its own process, Stripe-like latency and rate limit):

1. ``billing-connector sync --skip-mrr`` into a new store: the sync alone;
2. ``billing-connector sync`` into another new store: the whole job, sync then the
   refresh (mapping → segments → MRR facts), whose phases the sync summary times.

Printed per case: the ideal network phase Stripe's limits allow (as ``sync_throughput.py``
computes it) and each run's network phase against it, its requests and those answered
429 (the server's own counters); the sync's wall time, the refresh's (mapping + MRR) and
its ratio to the sync, CPU ms per object with and without the refresh, peak RSS of each
process (the second one's is the whole job's), the machine and its load average.
Objects are every row the sync stored in a raw table (``sync_throughput.stored_objects``:
the nested lists and the events included; until the twelfth session this benchmark left
out the invoices' payments, a fifth fewer objects at 2,000 customers).

    .venv/bin/python benchmarks/mrr_refresh.py --customers 2000 --latency-ms 0
    .venv/bin/python benchmarks/mrr_refresh.py --customers 20000 --latency-ms 250 --rate-limit 100
    # with Stripe's own per-route limit (25/s; every invoice's lines count as one route)
    .venv/bin/python benchmarks/mrr_refresh.py --customers 20000 --latency-ms 250 --rate-limit 100 --per-endpoint-limit 25

``--isolated STORE`` measures the refresh on its own instead: a copy of STORE (a
store synced with ``sync --skip-mrr``) gets ``refresh_after_sync`` in a fresh
process, which prints the CPU seconds of mapping, segments and MRR facts, the
objects in the store and the process's peak RSS (``--repeat`` copies, back to back).
``--as-after-sync`` takes every stored row as checked on the way in, as the refresh in
the sync's own process does (``store.checked_seqs``: rows it wrote are not checked
again); ``--keep PATH`` keeps the last refreshed copy (to compare with
``benchmarks/compare_stores.py``):

    .venv/bin/python benchmarks/mrr_refresh.py --isolated /tmp/synced-2000.db --repeat 2
    .venv/bin/python benchmarks/mrr_refresh.py --isolated /tmp/synced-2000.db --as-after-sync --keep /tmp/after.db

``--instructions`` counts the refresh process's instructions under valgrind instead of timing it
(the same count to a few parts per million from run to run; CPU seconds on the project's VM move by
a third): run it before and after a change in the same checkout (``git stash``), on a small store
(300 customers: 30 s):

    .venv/bin/python benchmarks/mrr_refresh.py --isolated /tmp/synced-300.db --as-after-sync --instructions
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_throughput import (  # noqa: E402  (the same demo server, started the same way; objects counted alike)
    ROOT as TREE, compile_tree, control, fewest_requests, ideal_seconds, requests_since_reset, start_server,
    stored_objects,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
KEY = "sk_test_benchmark_key_0000000000"
UNLIMITED = 100_000     # requests/s: "no limit" for the server and the connector at 0 latency


def run_sync(url: str, db: str, rate: float, per_endpoint: float, skip_mrr: bool) -> dict:
    """One sync process: wall, CPU (rusage), peak RSS and the summary's phase seconds."""
    env = {**os.environ, "STRIPE_API_KEY": KEY, "STRIPE_API_BASE": url,
           "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND_PER_ENDPOINT": str(per_endpoint)}
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


def measure(customers: int, latency_ms: int, rate_limit: float, per_endpoint: float, seed: int) -> dict:
    proc, url = start_server(argparse.Namespace(customers=customers, seed=seed, latency_ms=latency_ms,
                                                rate_limit=rate_limit, per_endpoint_limit=per_endpoint))

    def network(run: dict) -> dict:
        return {**run, **requests_since_reset(url, latency_ms)}

    try:
        with tempfile.TemporaryDirectory() as tmp:
            control(url, "/_demo/stats/reset", {})
            alone = network(run_sync(url, str(Path(tmp) / "alone.db"), rate_limit, per_endpoint, skip_mrr=True))
            objects = stored_objects(str(Path(tmp) / "alone.db"))
            needed = fewest_requests(str(Path(tmp) / "alone.db"))
            (Path(tmp) / "alone.db").unlink()
            control(url, "/_demo/stats/reset", {})
            whole = network(run_sync(url, str(Path(tmp) / "whole.db"), rate_limit, per_endpoint, skip_mrr=False))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    refresh = (whole["seconds"]["mapping"] or 0) + (whole["seconds"]["mrr"] or 0)
    ideal, bound = ideal_seconds(needed, rate_limit, per_endpoint)
    return {"customers": customers, "latency_ms": latency_ms, "rate_limit": rate_limit, "per_endpoint": per_endpoint,
            "objects": objects, "alone": alone, "whole": whole, "refresh": refresh, "load": os.getloadavg(),
            "ideal": ideal, "bound": bound, "fewest": sum(needed.values())}


def report(r: dict) -> None:
    alone, whole = r["alone"], r["whole"]
    sync_seconds = whole["seconds"]["fetch"]
    limit = ("unthrottled" if r["rate_limit"] >= UNLIMITED
             else f"{r['rate_limit']:g} req/s, {r['per_endpoint']:g} req/s per route")
    print(f"\n{r['customers']:,} customers, {r['objects']:,} objects; server {r['latency_ms']} ms latency, {limit}")
    if r["rate_limit"] < UNLIMITED:
        print(f"  ideal                       {r['ideal']:7.1f} s         (bound by the {r['bound']}; "
              f"fewest requests needed: {r['fewest']:,})")
    for name, run in (("sync alone (--skip-mrr)", alone), ("sync + refresh (one job)", whole)):
        efficiency = (f"{100 * r['ideal'] / run['network']:.1f} % of the ideal, " if r["rate_limit"] < UNLIMITED else "")
        print(f"  {name:<27} {run['wall']:7.1f} s wall   CPU {1000 * run['cpu'] / r['objects']:.3f} ms/object "
              f"({run['cpu']:.1f} s)   peak RSS {run['rss_mb']:.0f} MB")
        print(f"  {'':<27} network {run['network']:.1f} s: {efficiency}{run['requests']:,} requests, "
              f"{run['limited']:,} answered 429")
    print(f"    of which: fetch {sync_seconds:.1f} s, mapping {whole['seconds']['mapping']:.1f} s, "
          f"MRR {whole['seconds']['mrr']:.1f} s")
    print(f"  refresh / sync              {100 * r['refresh'] / sync_seconds:6.1f} %   (refresh {r['refresh']:.1f} s "
          f"after a {sync_seconds:.1f} s sync in the same job)")
    print(f"  load average after: {r['load'][0]:.2f} (1 min), {r['load'][1]:.2f} (5 min) on {os.cpu_count()} CPUs")


def _refresh_in_this_process(db: str, as_after_sync: bool = False) -> dict:
    """The child of ``--isolated``: one ``refresh_after_sync`` on ``db``, each step's CPU seconds."""
    import resource

    from connector import refresh as refresh_module
    from connector.mrr import engine
    from connector.mrr import segments as segment_builder
    from connector.mrr.policy import load_policy
    from connector.store import open_store

    cpu: dict[str, float] = {"segments": 0.0, "facts": 0.0}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                cpu[name] += time.process_time() - started
        return wrapper

    segment_builder.build_segments = timed("segments", segment_builder.build_segments)
    engine.update = timed("facts", engine.update)
    engine.rebuild = timed("facts", engine.rebuild)
    store = open_store(db)
    if as_after_sync:   # every row written by the sync that made the store, which checked each object
        store.checked_seqs.add(1, store.current_seq())
    io_before = _io_counters()
    started, wall = time.process_time(), time.monotonic()
    result = refresh_module.refresh_after_sync(store, load_policy("default"))
    total, wall = time.process_time() - started, time.monotonic() - wall
    io = {name: value - io_before.get(name, 0) for name, value in _io_counters().items()}
    store.close()
    cpu["mapping"] = total - cpu["segments"] - cpu["facts"]
    return {"cpu": cpu, "total": total, "wall": wall, "objects": stored_objects(db),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "result": result, "io": io}


def _io_counters() -> dict[str, int]:
    """This process's bytes through read and write calls so far (``rchar``, ``wchar``: the store's pages
    read and written, from the OS cache or not); empty where ``/proc/self/io`` is not there."""
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return {}
    counters = dict(line.split(": ") for line in lines)
    return {name: int(counters[name]) for name in ("rchar", "wchar") if name in counters}


def isolated(store: str, repeat: int, as_after_sync: bool = False, keep: str | None = None,
             instructions: bool = False) -> None:
    import shutil

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    compile_tree(TREE)
    for _ in range(repeat):
        load = os.getloadavg()
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "refresh.db")
            shutil.copyfile(store, db)
            child = [sys.executable, __file__, "--refresh-child", db, *(["--as-after-sync"] if as_after_sync else [])]
            if instructions:
                print(f"refresh of {store}: {counted_instructions(child):,} instructions (the whole process)")
                continue
            out = subprocess.run(child, cwd=ROOT, check=True, capture_output=True, text=True).stdout
            if keep:
                shutil.copyfile(db, keep)
        r = json.loads(out)
        cpu = r["cpu"]
        print(f"refresh of {r['objects']:,} objects: mapping {cpu['mapping']:.1f} + segments {cpu['segments']:.1f} "
              f"+ MRR facts {cpu['facts']:.1f} = {r['total']:.1f} CPU s = {1000 * r['total'] / r['objects']:.3f} ms/object; "
              f"wall {r['wall']:.1f} s; peak RSS {r['rss_mb']:.0f} MB; "
              + (f"read {r['io']['rchar'] / 2**30:.2f} GiB, wrote {r['io']['wchar'] / 2**30:.2f} GiB; " if r["io"] else "")
              + f"{r['result']['mapped_customers']} customers mapped; load average before {load[0]:.2f}")


def counted_instructions(command: list[str]) -> int:
    """The instructions ``command`` runs, counted by valgrind (cachegrind, no cache simulation; about
    15 times slower than the process alone). The count repeats to a few parts per million from run to
    run where CPU seconds on this VM move by a third: the measure for a change of a few percent (the
    same tree before and after it: another checkout's paths alone moved it by 0.3 %). Hash seeds are
    fixed (PYTHONHASHSEED=0): the order of a set of strings changes the work."""
    import re
    import shutil

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           *command], cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"},
                          capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count: {done.stderr[-300:]!r}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[2000])
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 250],
                        help="one case per value; 0 runs unthrottled")
    parser.add_argument("--rate-limit", type=float, default=100, help="requests/s when the latency is above 0")
    parser.add_argument("--per-endpoint-limit", type=float, default=None,
                        help="requests/s per route when the latency is above 0 (Stripe: 25; default: the "
                             "account's --rate-limit, so only the account limit binds)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--isolated", metavar="STORE", help="measure only the refresh, on a copy of STORE "
                        "(synced with --skip-mrr)")
    parser.add_argument("--repeat", type=int, default=1, help="with --isolated: how many copies, back to back")
    parser.add_argument("--as-after-sync", action="store_true", help="with --isolated: the rows taken as checked "
                        "on the way in, as in the sync's own process")
    parser.add_argument("--keep", metavar="PATH", help="with --isolated: keep the last refreshed copy as PATH")
    parser.add_argument("--instructions", action="store_true", help="with --isolated: count the refresh process's "
                        "instructions (valgrind) instead of timing it: repeatable to a few parts per million")
    parser.add_argument("--refresh-child", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.refresh_child:
        print(json.dumps(_refresh_in_this_process(args.refresh_child, args.as_after_sync)))
        return 0
    if args.isolated:
        isolated(args.isolated, args.repeat, args.as_after_sync, args.keep, args.instructions)
        return 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    for customers in args.customers:
        for latency in args.latency_ms:
            limited = bool(latency)
            report(measure(customers, latency, args.rate_limit if limited else UNLIMITED,
                           (args.per_endpoint_limit or args.rate_limit) if limited else UNLIMITED, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
