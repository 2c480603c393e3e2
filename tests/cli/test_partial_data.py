"""After a failed or interrupted sync every read says so in one line (and in JSON);
`backfill` refuses without --allow-partial; `status` says what the next run does."""

from __future__ import annotations

import json
import sqlite3

import pytest
import responses

from tests.support.fakestripe import small_account
from tests.support.cli import run_cli
from tests.support.demo import copy_store

FAILED = ("the last sync, finished 2026-03-01T02:15:09Z, failed for some streams: these figures come from "
          "partial data; run `billing-connector sync` and read its errors")
INTERRUPTED = ("the last sync, started 2026-03-02T02:15:00Z, was interrupted: these figures may miss what it was "
               "fetching; the next `billing-connector sync` resumes from its last committed page")


def _with_last_sync(demo_store, tmp_path, started, finished, ok):
    db = copy_store(demo_store, tmp_path, "copy.db")
    conn = sqlite3.connect(db)
    for key, value in (("last_sync_started_at", started), ("last_sync_finished_at", finished), ("last_sync_ok", ok)):
        conn.execute("INSERT INTO _meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     [key, value])
    conn.commit()
    conn.close()
    return db


READS = [["status"], ["mrr", "current"], ["mrr", "history"], ["mrr", "customers"], ["mrr", "metrics"], ["report"]]


@pytest.mark.parametrize("case", ["failed", "interrupted"])
@pytest.mark.parametrize("args", READS)
def test_every_read_says_so_in_one_line_and_in_json(demo_store, tmp_path, case, args):
    if case == "failed":
        db, warning = _with_last_sync(demo_store, tmp_path, "1772331300", "1772331309", "0"), FAILED
    else:
        db, warning = _with_last_sync(demo_store, tmp_path, "1772417700", "1772331309", "1"), INTERRUPTED
    text = run_cli([*args, "--db", str(db)])
    assert text.exit_code == 0, text.stderr
    assert [line for line in text.stderr.splitlines() if line.startswith("warning:")] == [f"warning: {warning}"]
    document = json.loads(run_cli([*args, "--db", str(db), "--json"]).stdout)
    assert (document["partial"], document["warning"]) == (True, warning)


def test_backfill_refuses_partial_data_unless_allowed(demo_store, tmp_path):
    db = _with_last_sync(demo_store, tmp_path, "1772331300", "1772331309", "0")
    refused = run_cli(["backfill", "--db", str(db)])
    assert refused.exit_code == 2
    assert refused.stderr == f"error: not backfilling: {FAILED}; or pass --allow-partial\n"
    allowed = run_cli(["backfill", "--db", str(db), "--allow-partial"])
    assert allowed.exit_code == 0, allowed.stderr
    assert allowed.stderr.startswith(f"warning: {FAILED}\nbackfilled: ")


def test_status_tells_an_interrupted_run_and_what_the_next_one_does(tmp_path):
    db = tmp_path / "b.db"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = small_account(customers=30)
        fake.install(rsps)
        assert run_cli(["sync", "--db", str(db), "--streams", "customers", "--quiet"]).exit_code == 0
    conn = sqlite3.connect(db)
    # what a run killed part-way through a full re-read of customers leaves: a start after the last finish
    conn.execute("UPDATE _meta SET value = CAST(value AS INTEGER) + 60 WHERE key = 'last_sync_finished_at'")
    conn.execute("UPDATE _meta SET value = (SELECT CAST(value AS INTEGER) + 60 FROM _meta "
                 "WHERE key = 'last_sync_finished_at') WHERE key = 'last_sync_started_at'")
    conn.execute("UPDATE _meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'last_sync_started_at'")
    conn.execute("UPDATE _sync_state SET state = json_set(state, '$.phase', 'full') WHERE stream = 'customers'")
    conn.commit()
    conn.close()
    result = run_cli(["status", "--db", str(db)])
    assert result.exit_code == 0
    assert "(interrupted)" in result.stdout.splitlines()[1]
    assert "resume its full read from the last committed page" in result.stdout
    status = json.loads(run_cli(["status", "--db", str(db), "--json"]).stdout)
    assert status["last_sync"]["interrupted"] is True and status["partial"] is True
    customers = next(row for row in status["streams"] if row["stream"] == "customers")
    assert customers["next_run"] == "resume its full read from the last committed page"
    assert next(row for row in status["streams"] if row["stream"] == "invoices")["next_run"] == "read in full"
