"""A sync killed with SIGKILL at a random page resumes and converges to a clean run's rows."""

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

from connector.streams import RAW_TABLES
from connector.demo import server as demo_server
from tests.support.keys import CANARY_KEY


ROOT = Path(__file__).resolve().parents[2]
SYNC = [sys.executable, "-m", "connector.cli", "sync", "--quiet", "--max-requests-per-second", "400"]


def sync_process(url: str, db: Path) -> subprocess.Popen:
    env = {**os.environ, "STRIPE_API_KEY": CANARY_KEY, "STRIPE_API_BASE": url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([*SYNC, "--db", str(db)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def committed_seq(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("select value from _meta where key = 'seq'").fetchone()
        finally:
            conn.close()
        return int(row[0]) if row else 0
    except sqlite3.Error:
        return 0


def snapshot(db: Path) -> dict[str, list]:
    """Every raw table's rows, sorted by key, JSON normalised, without sync bookkeeping."""
    conn = sqlite3.connect(db)
    tables = {}
    for name, spec in RAW_TABLES.items():
        keys = ", ".join(spec.primary_key)
        rows = conn.execute(f'select {keys}, data, _deleted from "{name}" order by {keys}').fetchall()
        tables[name] = [(*row[:-2], json.dumps(json.loads(row[-2]), sort_keys=True), row[-1]) for row in rows]
    conn.close()
    return tables


def finished_states(db: Path) -> dict[str, dict]:
    conn = sqlite3.connect(db)
    states = {s: json.loads(v) for s, v in conn.execute("select stream, state from _sync_state")}
    conn.close()
    return states


@pytest.mark.slow
def test_kill_9_at_a_random_page_then_rerun_equals_a_clean_run(tmp_path):
    rng = random.Random(int(os.environ.get("KILL_SEED", "7")))
    with demo_server.DemoServer(customers=40, seed=3, latency_ms=15) as server:
        clean = tmp_path / "clean.db"
        proc = sync_process(server.url, clean)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        total_seq = committed_seq(clean)
        assert total_seq > 10

        for attempt in range(3):
            killed = tmp_path / f"killed{attempt}.db"
            kill_at = rng.randint(1, total_seq - 1)
            proc = sync_process(server.url, killed)
            deadline = time.monotonic() + 60
            while committed_seq(killed) < kill_at and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            resumed = sync_process(server.url, killed)
            out, err = resumed.communicate(timeout=120)
            assert resumed.returncode == 0, err.decode()
            assert CANARY_KEY.encode() not in out + err
            assert snapshot(killed) == snapshot(clean), f"kill at seq {kill_at} did not converge"
            assert all(s["phase"] == "incremental" for s in finished_states(killed).values())
            conn = sqlite3.connect(killed)
            assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
            conn.close()
