"""Measure what the demo server can serve: requests/s of 100-object pages.

    python -m connector.demo.throughput --customers 2000 --threads 1 16 --seconds 10
    python -m connector.demo.throughput --latency-ms 250 --rate-limit 100 --threads 25

The server runs in its own process (as the benchmarks run it); each client thread
keeps one HTTP connection and pages a stream (``limit=100``, following
``starting_after``, starting over at the end). Prints one JSON line per thread count, with the server's own CPU per request
(the client, parsing 100 objects a page in Python, is usually the slower side).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import requests

_KEY = "sk_test_throughput0measurement0only"


def _client(url: str, path: str, deadline: float, tally: dict, lock: threading.Lock) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {_KEY}"
    cursor, counts = None, {"ok": 0, "429": 0, "other": 0, "objects": 0}
    while time.monotonic() < deadline:
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        response = session.get(url + path, params=params, timeout=30)
        if response.status_code == 200:
            body = response.json()
            counts["ok"] += 1
            counts["objects"] += len(body["data"])
            cursor = body["data"][-1]["id"] if body["has_more"] else None
        elif response.status_code == 429:
            counts["429"] += 1
        else:
            counts["other"] += 1
    with lock:
        for name, value in counts.items():
            tally[name] = tally.get(name, 0) + value


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to tell server cost from client cost."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, path: str, threads: int, seconds: float, server_pid: int) -> dict:
    tally: dict = {}
    cpu_before = _cpu_seconds(server_pid)
    lock = threading.Lock()
    started = time.monotonic()
    workers = [threading.Thread(target=_client, args=(url, path, started + seconds, tally, lock))
               for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    served = tally["ok"] + tally["429"] + tally["other"]
    server_cpu = _cpu_seconds(server_pid) - cpu_before
    return {"server_cpu_ms_per_request": round(server_cpu * 1000 / max(served, 1), 2),"path": path, "threads": threads, "seconds": round(elapsed, 1),
            "ok_per_s": round(tally["ok"] / elapsed, 1), "objects_per_s": round(tally["objects"] / elapsed),
            "rate_limited_per_s": round(tally["429"] / elapsed, 1), "other": tally["other"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connector.demo.throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--path", default="/v1/invoices")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=None)
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "connector.demo.server", "--port", "0", "--customers", str(args.customers),
               "--latency-ms", str(args.latency_ms)]
    if args.rate_limit:
        command += ["--rate-limit", str(args.rate_limit)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split()[-1]
        for threads in args.threads:
            print(json.dumps(measure(url, args.path, threads, args.seconds, server.pid)), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
