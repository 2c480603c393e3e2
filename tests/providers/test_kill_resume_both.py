"""kill -9 at a random committed page, for each provider: the rerun converges to a clean run's rows.

The CLI runs as a child process against the provider's fake server (served
from this process, with a little latency so the kill lands mid-sync); the
store is compared table by table with a store synced once without a kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connector.demo.server import DemoServer
from connector.demo_chargebee import DEFAULT_KEY, FakeChargebee, build_site
from connector.store.raw_chargebee import RAW_TABLES as CHARGEBEE_TABLES
from connector.store.raw_stripe import RAW_TABLES as STRIPE_TABLES
from tests.support.keys import CANARY_KEY

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "connector.cli", "sync", "--quiet", "--skip-mrr"]


def _stripe():
    server = DemoServer(customers=40, seed=3, latency_ms=15).__enter__()
    env = {"STRIPE_API_KEY": CANARY_KEY, "STRIPE_API_BASE": server.url}
    return server, env, ["--max-requests-per-second", "400"], STRIPE_TABLES, lambda: server.__exit__(None, None, None)


def _chargebee():
    # a live-named site on the Enterprise plan: a budget the kill test never waits for
    server = FakeChargebee(build_site(seed=3, customers=120, name="acme"), per_minute=100_000, latency=0.02).start()
    env = {"CHARGEBEE_API_KEY": DEFAULT_KEY, "CHARGEBEE_API_BASE": server.url, "CHARGEBEE_PLAN": "enterprise"}
    return server, env, ["--provider", "chargebee", "--site", "acme"], CHARGEBEE_TABLES, server.stop


SERVERS = {"stripe": _stripe, "chargebee": _chargebee}


def _sync(env: dict, args: list[str], db: Path) -> subprocess.Popen:
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([*CLI, *args, "--db", str(db)], cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _committed_seq(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("select value from _meta where key = 'seq'").fetchone()
        finally:
            conn.close()
        return int(row[0]) if row else 0
    except sqlite3.Error:
        return 0


def _snapshot(db: Path, tables) -> dict[str, list]:
    conn = sqlite3.connect(db)
    found = {}
    for name, spec in tables.items():
        keys = ", ".join(spec.primary_key)
        rows = conn.execute(f'select {keys}, data, _deleted from "{name}" order by {keys}').fetchall()
        found[name] = [(*row[:-2], json.dumps(json.loads(row[-2]), sort_keys=True), row[-1]) for row in rows]
    conn.close()
    return found


@pytest.mark.slow
@pytest.mark.parametrize("provider", sorted(SERVERS))
def test_kill_9_at_a_random_page_then_rerun_equals_a_clean_run(provider, tmp_path):
    rng = random.Random(int(os.environ.get("KILL_SEED", "11")))
    server, env, args, tables, stop = SERVERS[provider]()
    try:
        clean = tmp_path / "clean.db"
        out, err = _sync(env, args, clean).communicate(timeout=180)
        total_seq = _committed_seq(clean)
        assert total_seq > 5, err.decode()
        for attempt in range(3):
            killed = tmp_path / f"killed{attempt}.db"
            kill_at = rng.randint(1, total_seq - 1)
            proc = _sync(env, args, killed)
            deadline = time.monotonic() + 90
            while _committed_seq(killed) < kill_at and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            resumed = _sync(env, args, killed)
            out, err = resumed.communicate(timeout=180)
            assert resumed.returncode == 0, err.decode()
            assert env.get("CHARGEBEE_API_KEY", CANARY_KEY).encode() not in out + err
            assert _snapshot(killed, tables) == _snapshot(clean, tables), f"kill at seq {kill_at} did not converge"
            conn = sqlite3.connect(killed)
            states = [json.loads(s) for (s,) in conn.execute("select state from _sync_state")]
            assert states and all(s["phase"] == "incremental" for s in states)
            assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
            conn.close()
    finally:
        stop()
