"""The same sync from several checkouts, alternated, many times: what a change did to the CPU.

On the project's VM one code's CPU seconds move by a third from run to run
(BENCHMARKS.md), so one run of each says nothing about a change of 5 or 10 %.
This runs each variant in turn against one demo server (its own process,
Stripe-like latency and limits), for ``--rounds`` rounds, the order rotated
from round to round so that a drift of the machine falls on every variant
alike, and prints per variant the median, lowest and highest CPU per object and
the median of its per-round ratio to the first variant (the figure to judge a
change by: each ratio is taken from runs a minute apart), and each run's network
phase against the ideal (``sync_throughput.py``'s, from the server's counters)
with its peak RSS: a scheduling change is judged by those.

A variant is ``NAME=DIR``: a checkout of this project (``git worktree add``),
run as ``DIR/.venv/bin/python -m connector`` if DIR has a venv, else with this
venv's interpreter and ``PYTHONPATH=DIR``; ``--env NAME:KEY=VALUE`` sets an
environment variable for one variant (a setting the variant reads).

    git worktree add /tmp/change HEAD && ln -s "$PWD/.venv" /tmp/change/.venv   # then edit /tmp/change
    .venv/bin/python benchmarks/alternate.py --customers 600 --latency-ms 250 --rate-limit 100 \\
        --per-endpoint-limit 25 --rounds 6 --variant main=. --variant change=/tmp/change

Each run is a sync with ``--skip-mrr`` (``--with-mrr``: the whole job) into a new store.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_throughput import (  # noqa: E402  (objects counted, the ideal and the server's counters as everywhere here)
    KEY, UNTHROTTLED, compile_tree, control, fewest_requests, ideal_seconds, requests_since_reset, start_server,
    stored_objects,
)

ROOT = Path(__file__).resolve().parents[1]


def parse_variants(specs: list[str], envs: list[str]) -> dict[str, dict]:
    variants: dict[str, dict] = {}
    for spec in specs:
        name, sep, directory = spec.partition("=")
        if not sep or not name or not Path(directory, "connector").is_dir():
            raise SystemExit(f"--variant {spec!r}: expected NAME=DIR, DIR a checkout of this project")
        variants[name] = {"dir": Path(directory).resolve(), "env": {}}
    for setting in envs:
        name, sep, assignment = setting.partition(":")
        key, eq, value = assignment.partition("=")
        if not sep or not eq or name not in variants:
            raise SystemExit(f"--env {setting!r}: expected NAME:KEY=VALUE for a variant named by --variant")
        variants[name]["env"][key] = value
    if len(variants) < 2:
        raise SystemExit("name two variants or more (--variant NAME=DIR)")
    return variants


def run_one(variant: dict, url: str, db: str, args) -> dict:
    """One sync process of the variant: CPU (user + system), wall, peak RSS, context switches (a
    thread's wake-ups, mostly: steadier from run to run than the CPU seconds they cost)."""
    directory = variant["dir"]
    own_python = directory / ".venv" / "bin" / "python"
    python = own_python if own_python.exists() else Path(sys.executable)
    rate = args.rate_limit or UNTHROTTLED
    env = {**os.environ, "STRIPE_API_KEY": KEY, "STRIPE_API_BASE": url, "PYTHONPATH": str(directory),
           "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND_PER_ENDPOINT": str(args.per_endpoint_limit or rate),
           **variant["env"]}
    cmd = [str(python), "-m", "connector", "sync", "--db", db, "--quiet", "--log-level", "error",
           "--max-requests-per-second", str(rate), *([] if args.with_mrr else ["--skip-mrr"])]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=directory, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {os.waitstatus_to_exitcode(status)}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": time.monotonic() - started,
            "rss_mb": usage.ru_maxrss / 1024, "switches": usage.ru_nvcsw + usage.ru_nivcsw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR", required=True)
    parser.add_argument("--env", action="append", default=[], metavar="NAME:KEY=VALUE")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shape", default=None)
    parser.add_argument("--latency-ms", type=int, default=250)
    parser.add_argument("--rate-limit", type=float, default=100, help="requests/s (0: unthrottled)")
    parser.add_argument("--per-endpoint-limit", type=float, default=25)
    parser.add_argument("--with-mrr", action="store_true", help="the whole job, not the sync alone")
    args = parser.parse_args()
    variants = parse_variants(args.variant, args.env)
    for variant in variants.values():   # no variant compiles its modules in its timed runs
        compile_tree(variant["dir"])
    names = list(variants)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    objects = None
    proc, url = start_server(args)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before {os.getloadavg()[0]:.2f}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_number in range(args.rounds):
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    db = str(Path(tmp) / f"{name}-{round_number}.db")
                    control(url, "/_demo/stats/reset", {})
                    run = {**run_one(variants[name], url, db, args), **requests_since_reset(url, args.latency_ms)}
                    if objects is None:
                        objects = stored_objects(db)
                        ideal, _bound = ideal_seconds(fewest_requests(db), args.rate_limit or math.inf,
                                                      args.per_endpoint_limit)
                    run["ms"] = 1000 * run["cpu"] / objects
                    run["efficiency"] = 100 * ideal / run["network"]
                    runs[name].append(run)
                    for leftover in Path(tmp).glob(f"{name}-{round_number}.db*"):
                        leftover.unlink()
                    print(f"round {round_number + 1} {name:>12}: {run['ms']:.3f} ms/object ({run['cpu']:.2f} CPU s), "
                          f"{run['wall']:.1f} s wall, network {run['network']:.1f} s = {run['efficiency']:.1f} % of "
                          f"the ideal ({run['requests']:,} requests, {run['limited']:,} answered 429), "
                          f"{run['rss_mb']:.0f} MB, {run['switches']:,} context switches", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    first = names[0]
    print(f"\n{objects:,} objects, {args.rounds} rounds; load average after {os.getloadavg()[0]:.2f}")
    for name in names:
        ms = [run["ms"] for run in runs[name]]
        ratios = [mine["ms"] / theirs["ms"] for mine, theirs in zip(runs[name], runs[first])]
        switches = statistics.median(run["switches"] for run in runs[name])
        print(f"{name:>12}: median {statistics.median(ms):.3f} ms/object (lowest {min(ms):.3f}, highest {max(ms):.3f}); "
              f"per-round ratio to {first}: median {statistics.median(ratios):.3f} "
              f"({sum(r < 1 for r in ratios)} of {len(ratios)} below 1); median {switches:,.0f} context switches")
        efficiency = [run["efficiency"] for run in runs[name]]
        rss = [run["rss_mb"] for run in runs[name]]
        print(f"{'':>12}  network: median {statistics.median(efficiency):.1f} % of the ideal ({min(efficiency):.1f}-"
              f"{max(efficiency):.1f}); peak RSS {min(rss):.0f}-{max(rss):.0f} MB")


if __name__ == "__main__":
    main()
