"""The seeded fault campaign: R runs of the sync under injected faults, each repaired and checked.

    .venv/bin/python benchmarks/faults.py --runs 300 --seed 2026 --customers 60 --kill-points 150

Every run (seeded by ``--seed`` and its number) syncs one demo account into a fresh
store while the demo server injects network faults by class (429 storms, 500/502/503,
connection resets, truncated and malformed bodies, responses slower than the client
timeout). Some runs are also killed with SIGKILL at a random committed change, or
crash in process: an exception raised between a page's rows and its cursor
(``Store.set_state`` raises once), or a full disk (``PRAGMA max_page_count``). A
reader thread watches every store while a sync writes it: it must only ever see whole
pages, and cursors that never move backwards. Then the faults stop, the sync reruns to
completion, and the store must equal a clean run's (every table, rows sorted, JSON
normalised), hold no duplicate key, keep incremental MRR equal to a full recompute,
pass ``PRAGMA integrity_check`` and contain no trace of the API key.

Prints exactly one line and exits 1 if anything was lost::

    N faults over R runs (K kill points): 0 records lost, 0 duplicates, 0 cursor regressions, MRR delta 0, 0 secret leaks, integrity_check ok

Counting: faults are the demo server's own counters (``stats()["faults"]``: every
injected 5xx, reset, truncated, malformed, slow and rule-injected 429) plus the kills
and in-process crashes actually delivered. "records lost" counts clean-run rows missing
or different after the repair; "duplicates" counts repeated keys plus rows the clean
run does not have; "MRR delta" counts ``mrr_*`` rows that differ from a full recompute
or from the clean run. ``--details`` prints one JSON line per run to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.store_checks import (  # noqa: E402
    Watcher, compare, duplicate_keys, integrity, mrr_recompute_delta, mrr_tables, snapshot)
from tests.support.truth_checks import account_delta, account_reference, export_delta, leaks  # noqa: E402
from tests.support.keys import CANARY_KEY  # noqa: E402
from tests.support.small_disk import SmallDisk, small_disks_available  # noqa: E402

NETWORK_FAULTS = ("500", "502", "503", "reset", "malformed", "truncated", "slow")
TIMEOUT_SECONDS = 0.4   # the client's while faults are on; a "slow" answer takes SLOW_SECONDS, past it
# Once the faults stop, the client's default: on a loaded machine a fault-free answer can take
# longer than 0.4 s, and a timeout then says nothing about the connector.
FAULT_FREE_TIMEOUT_SECONDS = 30.0
SLOW_SECONDS = 0.6


# ---- syncs and exports ----------------------------------------------------------------------
# A directory put first on the CLI's PYTHONPATH (its sitecustomize.py plants a bug): the
# negative controls of tests/campaign/test_negative_control_*.py. None in a real campaign.
PLANT: str | None = None
# The connector's longest pause between two attempts (BILLING_CONNECTOR_MAX_RETRY_WAIT_SECONDS);
# None: its default (30 s). A short campaign lowers it: see campaign().
RETRY_WAIT: float | None = None


def cli_command(url: str, db: Path, *args: str, timeout: float = TIMEOUT_SECONDS) -> tuple[list[str], dict]:
    """The real CLI, its working directory and temp dir inside the run's folder (searched for leaks)."""
    path = os.pathsep.join(p for p in (PLANT, str(ROOT)) if p)
    env = {**os.environ, "STRIPE_API_KEY": CANARY_KEY, "STRIPE_API_BASE": url, "PYTHONPATH": path,
           "TMPDIR": str(db.parent / "tmp"),
           "BILLING_CONNECTOR_TIMEOUT_SECONDS": str(timeout), "BILLING_CONNECTOR_MAX_RETRIES": "8",
           "BILLING_CONNECTOR_MAX_RETRY_SECONDS": "60"}
    if RETRY_WAIT is not None:
        env["BILLING_CONNECTOR_MAX_RETRY_WAIT_SECONDS"] = str(RETRY_WAIT)
    return [sys.executable, "-m", "connector.cli", *args, "--db", str(db)], env


def sync_args() -> tuple[str, ...]:
    return ("sync", "--quiet", "--max-requests-per-second", "1000")


def export_args(db: Path) -> tuple[str, ...]:
    return ("export", "--to", f"jsonl:{db.parent / 'export'}")


def run_cli(url: str, db: Path, output: list[bytes], args: tuple[str, ...] | None = None,
            kill_when=None, timeout: float = TIMEOUT_SECONDS) -> tuple[int, bool]:
    """(exit code, killed?) of one CLI command (a sync by default), SIGKILLed once ``kill_when()``."""
    command, env = cli_command(url, db, *(args or sync_args()), timeout=timeout)
    (db.parent / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen(command, cwd=db.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = False
    if kill_when is not None:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if kill_when():
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.002)
    out, err = proc.communicate(timeout=300)
    output.extend([out, err])
    return proc.returncode, killed and proc.returncode == -signal.SIGKILL


def run_cli_sync(url: str, db: Path, output: list[bytes], kill_at_seq: int | None = None,
                 watcher: Watcher | None = None, kill_at_request=None,
                 timeout: float = TIMEOUT_SECONDS) -> tuple[int, bool]:
    """A sync, SIGKILLed once the store commits kill_at_seq (a raw page or the MRR refresh), or
    once ``kill_at_request()`` says the server has answered enough requests."""
    def kill_when() -> bool:
        seen = watcher.observe() if watcher else None
        return (kill_at_request is not None and kill_at_request()) or (
            kill_at_seq is not None and bool(seen) and seen["seq"] >= kill_at_seq)

    armed = kill_at_seq is not None or kill_at_request is not None
    return run_cli(url, db, output, kill_when=kill_when if armed else None, timeout=timeout)


def exported_tables(db: Path) -> int:
    """Tables whose export watermark the store has committed (each one a table fully exported)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM _export_watermarks WHERE seq >= 0").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet, or the writer holds it for a moment
        return 0


def crash_in_process(url: str, db: Path, rng: random.Random, kind: str, logs: list[str],
                     cleanup: contextlib.ExitStack, sites: list[str]) -> bool:
    """Sync in this process until an injected crash; True if the crash happened (its site in ``sites``).

    ``exception``: Store.set_state raises once, between a page's rows and its cursor;
    the reader must then see exactly what it saw before that transaction began.
    ``disk_full``: PRAGMA max_page_count a few pages above the current size.
    ``disk_full_mrr``: the raw sync completes, then the disk fills a few pages into the MRR
    refresh; the store must then hold what it held before it (one transaction, rolled back).
    ``disk_full_export``: the raw sync and MRR complete, then the export that follows them
    meets a full disk, either the store's (its first export must create its bookkeeping) or
    the target folder's (a small tmpfs: some tables' files fit, one does not); the folder's
    filesystem is then grown (space freed, files kept) and the run's later export must
    complete the folder (``cleanup`` unmounts it when the run ends).
    """
    import logging

    from connector.errors import ConnectorError, StoreError
    from connector.http import RateLimiter, RetryPolicy
    from connector.providers.stripe import StripeProvider
    from connector.store import Store, open_store
    from connector.sync import run_sync

    class Capture(logging.Handler):
        def emit(self, record):
            logs.append(self.format(record))

    handler = Capture()
    logging.getLogger().addHandler(handler)
    provider = StripeProvider(CANARY_KEY, api_base=url, timeout=TIMEOUT_SECONDS, limiter=RateLimiter(1000),
                              retry_policy=RetryPolicy(max_attempts=8, max_seconds=60,
                                                       max_wait=RetryPolicy.max_wait if RETRY_WAIT is None else RETRY_WAIT))
    store = open_store(db)
    original = Store.set_state
    crashed = {"done": False, "before": None}
    fail_on_call = rng.randint(1, 40)
    calls = {"n": 0}

    def failing_set_state(self, stream, state):
        calls["n"] += 1
        if calls["n"] == fail_on_call and not crashed["done"]:
            crashed["done"] = True
            crashed["before"] = snapshot(db)  # another connection: the last committed state
            raise RuntimeError("injected crash between a page write and its cursor write")
        return original(self, stream, state)

    def fill_disk(margin: int | None = None) -> None:
        pages = store.db.execute("pragma page_count").fetchone()[0]
        store.db.execute(f"pragma max_page_count = {pages + (rng.randint(2, 80) if margin is None else margin)}")

    try:
        try:
            store.bind_account(provider.identify())
            if kind == "disk_full":
                fill_disk()
            elif kind == "exception":
                Store.set_state = failing_set_state
            report = run_sync(store, provider, streams=list(provider.streams), workers=8)
            if kind == "disk_full_mrr" and not report.failures:
                return _fill_disk_in_refresh(store, db, fill_disk, logs, sites)
            if kind == "disk_full_export" and not report.failures:
                return _fill_disk_in_export(store, db, rng, fill_disk, logs, cleanup, sites)
        except StoreError as exc:
            logs.append(str(exc))
            sites.append("disk_full/sync")
            return kind == "disk_full"
        except RuntimeError as exc:
            logs.append(str(exc))
            if crashed["before"] is not None and snapshot(db) != crashed["before"]:
                raise AssertionError("an injected exception left part of a page committed") from None
            sites.append("exception/sync")
            return crashed["done"]
        except ConnectorError as exc:  # a retry budget spent under faults is expected: recorded, and the rerun repairs
            logs.append(f"{type(exc).__name__}: {exc}")
        return False
    finally:
        Store.set_state = original
        logging.getLogger().removeHandler(handler)
        store.close()


def _is_disk_full(exc: BaseException) -> bool:
    return (getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "full" in str(exc) or "No space left" in str(exc))


def _fill_disk_in_refresh(store, db: Path, fill_disk, logs: list[str], sites: list[str]) -> bool:
    """The disk fills a few pages into the MRR refresh; True if it did. What a second connection
    saw before the refresh must be what it sees after (nothing half-written)."""
    from connector.errors import ConnectorError
    from connector.refresh import refresh_after_sync
    from connector.mrr.policy import load_policy

    fill_disk()
    before = snapshot(db)
    try:
        refresh_after_sync(store, load_policy("default"))
    except (sqlite3.OperationalError, ConnectorError) as exc:
        logs.append(f"{type(exc).__name__}: {exc}")
        after = snapshot(db)
        # the neutral schema's tables are created (empty) by their own migration before the
        # refresh's transaction: a table new and empty is no part of the refresh committed
        if any(before.get(t, []) != after.get(t, []) for t in set(before) | set(after)):
            raise AssertionError("a full disk inside the MRR refresh left part of it committed") from None
        if _is_disk_full(exc):
            sites.append("disk_full/mrr")
            return True
        return False
    finally:
        store.db.execute("pragma max_page_count = 4294967294")
    return False


def _fill_disk_in_export(store, db: Path, rng: random.Random, fill_disk, logs: list[str],
                         cleanup: contextlib.ExitStack, sites: list[str], on_target: bool | None = None) -> bool:
    """The export meets a full disk, the target folder's (``on_target``; drawn when None, where a
    small disk can be mounted) or the store's; True if it did."""
    from connector.errors import ConnectorError
    from connector.export import export
    from connector.refresh import refresh_after_sync
    from connector.mrr.policy import load_policy

    refresh_after_sync(store, load_policy("default"))
    folder = db.parent / "export"
    if on_target is None:
        on_target = small_disks_available() and rng.random() < 0.5
    if on_target:
        # a few pages up to about the size of the whole export: anywhere from the first table's
        # file to the manifest written after the last one
        disk = cleanup.enter_context(SmallDisk(folder, rng.randint(1, 160) * 4096))
    else:
        fill_disk(margin=0)  # a first export creates its bookkeeping tables: that needs pages
    try:
        export(store, f"jsonl:{folder}")
    except (sqlite3.OperationalError, ConnectorError) as exc:
        logs.append(f"{type(exc).__name__}: {exc}")
        if "\n" in str(exc).strip() or not _is_disk_full(exc):
            return False
        stray = sorted(p.name for p in folder.glob("*.tmp")) if folder.exists() else []
        if stray:
            raise AssertionError(f"a full disk inside the export left partial files: {stray}") from None
        sites.append("disk_full/export-target" if on_target else "disk_full/export-store")
        return True
    finally:
        store.db.execute("pragma max_page_count = 4294967294")
        if on_target:
            disk.grow(256 * 1024 * 1024)  # the operator frees space; the files written so far stay
    return False


# ---- one run --------------------------------------------------------------------------------
def plan_run(seed: int, number: int, kills: int, kill_during: str = "any") -> dict:
    rng = random.Random(f"fault-campaign/{seed}/{number}")
    classes = rng.sample(NETWORK_FAULTS, rng.randint(3, 6))
    # kept under ~50 % together: past that, runs of consecutive failures make the
    # exponential backoff (up to 30 s a wait) dominate the campaign's time
    faults = {name: round(rng.uniform(0.05, 0.14), 3) for name in classes}
    rules = []
    if rng.random() < 0.8:  # a 429 storm: every request for a while
        rules.append({"path": "/v1/*", "fault": "429", "from_nth": rng.randint(1, 40), "times": rng.randint(40, 120)})
    crash = rng.choice([None, None, None, "exception", "disk_full", "disk_full_mrr", "disk_full_export"])
    return {"number": number, "faults": faults, "rules": rules, "fault_seed": rng.randrange(1 << 30),
            "kills": kills, "kill_during": kill_during, "crash": crash, "rng_seed": rng.randrange(1 << 30)}


_SERVER = None
_CLEAN: dict | None = None
_ACCOUNT: dict | None = None  # what the worker's demo account holds, per stream (truth_checks)


def _start_worker(customers: int, account_seed: int, clean: dict, plant: str | None = None,
                  retry_wait: float | None = None) -> None:
    global _SERVER, _CLEAN, _ACCOUNT, PLANT, RETRY_WAIT
    from connector.demo.server import DemoServer

    PLANT, RETRY_WAIT = plant, retry_wait
    _SERVER = DemoServer(seed=account_seed, customers=customers, slow_seconds=SLOW_SECONDS).start()
    _ACCOUNT = account_reference(_SERVER.account)
    # a client that gave up (timeout, kill) makes the handler's write fail; the
    # stdlib server prints a traceback per such request, which is noise here
    _SERVER._httpd.handle_error = lambda request, client_address: None
    _CLEAN = clean


def _kill_once(plan: dict, rng: random.Random, server, clean: dict, db: Path, output: list[bytes],
               watcher: Watcher, sites: list[str]) -> bool:
    """One kill point; True if the SIGKILL landed (a command that finished first is not counted),
    and where it landed appended to ``sites`` (see :func:`kill_site`)."""
    if plan["kill_during"] == "raw":
        # at a random request, fewer than a clean sync makes: always while pages are
        # still being fetched, never in the MRR refresh that follows them
        served = server.stats()["total"] + rng.randint(1, max(1, clean["requests"] - 5))
        landed = run_cli_sync(server.url, db, output, watcher=watcher,
                              kill_at_request=lambda: server.stats()["total"] >= served)[1]
    elif (roll := rng.random()) < 0.25:  # inside the export: after its k-th table committed
        run_cli_sync(server.url, db, output)
        target = exported_tables(db) + rng.randint(1, 20)
        landed = run_cli(server.url, db, output, export_args(db), kill_when=lambda: exported_tables(db) >= target)[1]
        if landed:
            sites.append("export")
        return landed
    elif roll < 0.5:
        # inside the MRR refresh (one transaction that a committed change never shows): once every
        # stream's read is complete, after a random delay of up to about a refresh's length
        landed = run_cli(server.url, db, output,
                         kill_when=_after_raw(watcher, clean["streams"], rng.uniform(0, clean["refresh_seconds"])))[1]
    else:  # at a random committed change: a raw page, or the refresh's commit
        target = (watcher.previous or {"seq": 0})["seq"] + rng.randint(1, max(2, clean["seq"] // 2))
        landed = run_cli_sync(server.url, db, output, kill_at_seq=target, watcher=watcher)[1]
    if landed:
        sites.append(kill_site(db))
    return landed


def _after_raw(watcher: Watcher, streams: set[str], delay: float):
    """A kill condition: ``delay`` seconds after the watcher first sees every stream read complete."""
    since: list[float] = []

    def kill_when() -> bool:
        seen = watcher.observe()
        states = (seen or {}).get("states", {})
        if not since and streams <= set(states) and all(states[s].get("phase") == "incremental" for s in streams):
            since.append(time.monotonic())
        return bool(since) and time.monotonic() - since[0] >= delay
    return kill_when


def kill_site(db: Path) -> str:
    """Where a sync was killed, read off what it left committed: ``raw`` (a stream's read was
    unfinished), ``mrr`` (every read complete, the mapping and MRR refresh of the last raw
    changes not committed) or ``after`` (nothing uncommitted: an incremental run that had found
    nothing new yet, or a process ending)."""
    from connector.store.raw_stripe import RAW_TABLES

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        if not conn.execute("select 1 from sqlite_master where name = '_sync_state'").fetchone():
            return "raw"
        if any(json.loads(state).get("phase") != "incremental"
               for (state,) in conn.execute("select state from _sync_state")):
            return "raw"
        present = {name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")}
        raw_seq = max((conn.execute(f'select coalesce(max(_seq), 0) from "{t}"').fetchone()[0]
                       for t in RAW_TABLES if t in present), default=0)
        mapped = conn.execute("select value from _meta where key = 'mapping_seq'").fetchone()
        return "mrr" if raw_seq > int(mapped[0] if mapped else 0) else "after"
    finally:
        conn.close()


def execute_run(plan: dict) -> dict:
    server, clean = _SERVER, _CLEAN
    rng = random.Random(plan["rng_seed"])
    work = Path(tempfile.mkdtemp(prefix=f"faults-{plan['number']}-"))
    db = work / "store.db"
    output: list[bytes] = []
    logs: list[str] = []
    result = {"number": plan["number"], "kills": 0, "crashes": 0, "problems": [], "crash": plan["crash"],
              "sites": []}
    started = time.monotonic()
    cleanup = contextlib.ExitStack()  # a small disk mounted for a disk-full fault
    try:
        faults_before = sum(server.stats()["faults"].values())
        server.configure(faults=plan["faults"], rules=plan["rules"], fault_seed=plan["fault_seed"])
        watcher = Watcher(db)
        if plan["crash"]:
            result["crashes"] += crash_in_process(server.url, db, rng, plan["crash"], logs, cleanup, result["sites"])
            watcher.observe()
        for _ in range(plan["kills"]):
            result["kills"] += _kill_once(plan, rng, server, clean, db, output, watcher, result["sites"])
        with watcher:  # (after a kill: the resume) under the same faults, to its end or a spent retry budget
            run_cli_sync(server.url, db, output)
        result["faults"] = sum(server.stats()["faults"].values()) - faults_before
        server.configure(faults={}, rules=[])
        with watcher:
            code, _ = run_cli_sync(server.url, db, output, timeout=FAULT_FREE_TIMEOUT_SECONDS)
        if code != 0:
            result["problems"].append(f"the fault-free rerun exited {code}: {output[-1][-400:].decode(errors='replace')}")
        code, _ = run_cli(server.url, db, output, export_args(db), timeout=FAULT_FREE_TIMEOUT_SECONDS)
        if code != 0:
            result["problems"].append(f"the export exited {code}: {output[-1][-400:].decode(errors='replace')}")
        _check_store(result, db, work, clean, watcher)
        result["leaks"], where = leaks(CANARY_KEY, output + [text.encode() for text in logs], work)
        result["problems"] += [f"the key (or its base64/URL form) is in {place}" for place in where[:12]]
    except Exception as exc:  # noqa: BLE001 - any surprise is a failed run, reported, never hidden
        result["problems"].append(f"{type(exc).__name__}: {exc}")
        result.setdefault("faults", 0)
    finally:
        cleanup.close()
        shutil.rmtree(work, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _check_store(result: dict, db: Path, work: Path, clean: dict, watcher: Watcher) -> None:
    """Raw tables against the account the server holds; derived tables (neutral, MRR) against a
    clean run and a full recompute; the export folder against the store."""
    from connector.mrr.analysis_tables import ANALYSIS_TABLES
    from connector.store.raw_stripe import RAW_TABLES

    # the export's analysis tables are rewritten from the facts at each export (the clean run never
    # exports): the facts they are computed from are compared instead
    skipped = set(RAW_TABLES) | set(ANALYSIS_TABLES)
    repaired = {t: rows for t, rows in snapshot(db).items() if t not in ANALYSIS_TABLES}
    raw_lost, phantoms, examples = account_delta(_ACCOUNT, db)
    derived = {t: rows for t, rows in clean["tables"].items() if t not in skipped}
    derived_lost, derived_extra = compare(derived, {t: r for t, r in repaired.items() if t not in skipped})
    export_lost, export_examples = export_delta(db, work / "export")
    result["lost"] = raw_lost + derived_lost + export_lost
    result["problems"] += examples + export_examples
    if derived_lost or derived_extra:
        differing = sorted(t for t in set(derived) | set(repaired)
                           if t not in RAW_TABLES and clean["tables"].get(t) != repaired.get(t))
        result["problems"].append(f"derived tables differing from the clean run: {', '.join(differing)}")
    result["duplicates"] = duplicate_keys(db) + phantoms + derived_extra
    result["regressions"] = len(watcher.regressions)
    result["torn_pages"] = len(watcher.torn)
    result["problems"] += watcher.regressions[:3] + watcher.torn[:3]
    clean_lost, clean_extra = compare(mrr_tables(clean["tables"]), mrr_tables(repaired))
    result["mrr_delta"] = clean_lost + clean_extra + mrr_recompute_delta(db, work)
    result["integrity"] = integrity(db)


def clean_reference(customers: int, account_seed: int) -> dict:
    from connector.demo.server import DemoServer

    work = Path(tempfile.mkdtemp(prefix="faults-clean-"))
    try:
        with DemoServer(seed=account_seed, customers=customers) as server:
            output: list[bytes] = []
            code, _ = run_cli(server.url, work / "clean.db", output, (*sync_args(), "--format", "json"),
                              timeout=FAULT_FREE_TIMEOUT_SECONDS)
            requests = server.stats()["total"]
            if code != 0:
                raise SystemExit(f"the clean sync failed with exit {code}: {output[-1][-400:].decode(errors='replace')}")
        seen = Watcher(work / "clean.db").observe()
        seconds = json.loads(output[0])["seconds"]
        # the window after the last read in which a kill lands in the mapping and MRR refresh (what
        # the clean sync's summary says they took, with room for a loaded machine)
        return {"tables": snapshot(work / "clean.db"), "seq": seen["seq"], "requests": requests,
                "streams": set(seen["states"]),
                "refresh_seconds": 1.5 * ((seconds["mapping"] or 0) + (seconds["mrr"] or 0)) + 0.05}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def campaign(runs: int, seed: int, customers: int = 60, kill_points: int = 0, workers: int = 8,
             details=None, kill_during: str = "any", plant: str | None = None,
             retry_wait: float | None = None) -> dict:
    """Run the campaign; the totals plus the headline line. ``plant``: a negative control's folder.

    ``retry_wait``: the connector's longest pause between two attempts, in every sync and export of
    the campaign (None: its default, 30 s). Runs spend most of their time in those pauses, not in
    work: a request that fails a few times in a row (about 40 % of requests fail), or a 429 storm,
    waits up to 30 s at a time while the rest of its sync is done. The short campaign of the test
    suite lowers it; the faults, the attempts per request, the kills and every check stay the same.
    """
    global PLANT, RETRY_WAIT
    PLANT, RETRY_WAIT = plant, retry_wait
    clean = clean_reference(customers, account_seed=seed)
    numbers = list(range(runs))
    kills = Counter()
    for point in range(kill_points):  # spread the kill points over the runs, by seed
        kills[random.Random(f"kills/{seed}/{point}").choice(numbers) if point >= runs else numbers[point]] += 1
    plans = [plan_run(seed, number, kills[number], kill_during) for number in numbers]
    totals = Counter()
    sites = Counter()
    problems: list[str] = []
    integrity_ok = True
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start_worker, initargs=(customers, seed, clean, plant, retry_wait)) as pool:
        for result in pool.imap_unordered(execute_run, plans):
            for name in ("faults", "kills", "crashes", "lost", "duplicates", "regressions", "torn_pages",
                         "mrr_delta", "leaks"):
                totals[name] += result.get(name, 0)
            integrity_ok &= result.get("integrity") == "ok"
            sites.update(result.get("sites", []))
            problems += [f"run {result['number']}: {p}" for p in result["problems"]]
            if details:
                print(json.dumps(result), file=details, flush=True)
    injected = totals["faults"] + totals["kills"] + totals["crashes"]
    line = (f"{injected} faults over {runs} runs ({totals['kills']} kill points): {totals['lost']} records lost, "
            f"{totals['duplicates']} duplicates, {totals['regressions'] + totals['torn_pages']} cursor regressions, "
            f"MRR delta {totals['mrr_delta']}, {totals['leaks']} secret leaks, "
            f"integrity_check {'ok' if integrity_ok else 'FAILED'}")
    ok = integrity_ok and not problems and not any(
        totals[n] for n in ("lost", "duplicates", "regressions", "torn_pages", "mrr_delta", "leaks"))
    return {"line": line, "ok": ok, "totals": dict(totals), "problems": problems, "sites": dict(sites)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Example: benchmarks/faults.py --runs 4 --seed 1 --kill-points 2")
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--kill-points", type=int, default=0, help="SIGKILLs spread over the runs")
    parser.add_argument("--kill-during", choices=("any", "raw"), default="any",
                        help="any: at a random committed change, MRR refresh included; raw: at a random request")
    parser.add_argument("--workers", type=int, default=8, help="runs in parallel, each with its own demo server (runs mostly wait on retries)")
    parser.add_argument("--retry-wait", type=float, default=None, metavar="SECONDS",
                        help="the connector's longest pause between two attempts (default: its own, 30 s)")
    parser.add_argument("--details", action="store_true", help="one JSON line per run on stderr")
    parser.add_argument("--plant", default=None, metavar="DIR",
                        help="negative control: a folder put first on the CLI's PYTHONPATH (its sitecustomize.py plants a bug)")
    args = parser.parse_args(argv)
    outcome = campaign(args.runs, args.seed, args.customers, args.kill_points, args.workers,
                       details=sys.stderr if args.details else None, kill_during=args.kill_during, plant=args.plant,
                       retry_wait=args.retry_wait)
    for problem in outcome["problems"][:20]:
        print(problem, file=sys.stderr)
    landed = ", ".join(f"{site} {count}" for site, count in sorted(outcome["sites"].items())) or "none"
    print(f"kills and crashes landed: {landed}", file=sys.stderr)
    print(outcome["line"], flush=True)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
