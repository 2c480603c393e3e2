"""What one HTTP request costs in CPU, layer by layer (issue 18: the whole sync near 0.1 ms per object).

Starts the demo server (``sync_throughput.start_server``, this checkout's) in its own
process with no latency and no rate limit, then
times N sequential GETs of a one-object page in this process (CPU of every thread of
it: the deadline watchdog's included; the server's is not):

* urllib3          a bare ``urllib3.HTTPConnectionPool.request``: the floor
* requester        ``bounded_http.BoundedRequester.request``: deadline, size cap, scrub
* stripe           ``StripeProvider._request_json``: the SDK building the request on top

Each layer is timed ``--rounds`` times, the rounds interleaved; the median is shown.
Compare two trees by running it with each on PYTHONPATH, alternately:

    PYTHONPATH=. .venv/bin/python benchmarks/http_overhead.py
    PYTHONPATH=/path/to/other/tree .venv/bin/python benchmarks/http_overhead.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import urllib3

import connector
from connector.bounded_http import BoundedRequester
from connector.providers.stripe import StripeProvider
from sync_throughput import start_server   # (this folder is on sys.path: the script's own)

KEY = "sk_test_benchmark_key_0000000000"
PATH = "/v1/customers"
PARAMS = {"limit": "1"}


TREE = Path(connector.__file__).resolve().parents[1]   # the tree measured (PYTHONPATH)
DEMO = argparse.Namespace(customers=50, seed=1, latency_ms=0, rate_limit=0, per_endpoint_limit=0)


def layers(url: str) -> dict[str, Callable[[], object]]:
    """One request of each layer, as a call; each ends with the whole body read."""
    parts = urlsplit(url)
    pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port)
    headers = {"Authorization": f"Bearer {KEY}"}
    requester = BoundedRequester(30)
    provider = StripeProvider(KEY, api_base=url)
    target = f"{url}{PATH}?limit=1"
    return {
        "urllib3": lambda: pool.request("GET", f"{PATH}?limit=1", headers=headers).data,
        "requester": lambda: requester.request("GET", target, what=f"GET {PATH}", headers=headers).body,
        "stripe": lambda: provider._request_json(PATH, PARAMS, f"GET {PATH}", "customers"),
    }


def cpu_ms_per_request(call: Callable[[], object], requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per layer and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args()

    proc, url = start_server(DEMO)
    try:
        calls = layers(url)
        for call in calls.values():   # connections open, imports and caches warm
            for _ in range(50):
                call()
        figures: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(args.rounds):
            for name, call in calls.items():
                figures[name].append(cpu_ms_per_request(call, args.requests))
    finally:
        proc.terminate()
        proc.wait()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"tree": str(TREE), "load": round(load, 2), **{k: round(v, 4) for k, v in medians.items()}}))
        return
    print(f"{TREE}: CPU ms per request, median of {args.rounds} rounds of {args.requests} "
          f"(load average {load:.2f} on {os.cpu_count()} CPUs)")
    for name, value in medians.items():
        spread = ", ".join(f"{v:.3f}" for v in figures[name])
        print(f"  {name:10s} {value:.3f}   ({spread})")


if __name__ == "__main__":
    main()
