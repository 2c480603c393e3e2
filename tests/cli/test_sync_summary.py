"""The sync summary: per stream created / updated / deleted, requests, retries, 429s, seconds per phase."""

from __future__ import annotations

import json
import re

from tests.support.cli import run_cli
from tests.support.fakestripe import customer


def _streams(summary):
    return {row["stream"]: row for row in summary["streams"]}


def test_first_sync_creates_then_a_refresh_counts_updates_and_deletes(fake, tmp_path):
    db = str(tmp_path / "b.db")
    first = run_cli(["sync", "--db", db, "--streams", "customers", "--format", "json"])
    assert first.exit_code == 0, first.stderr
    summary = json.loads(first.stdout)
    assert _streams(summary)["customers"] == {
        "stream": "customers", "rows": 6, "created": 6, "updated": 0, "deleted": 0, "error": None,
    }
    assert summary["ok"] is True and summary["exit_code"] == 0 and summary["retries"] == 0
    assert summary["requests"] == len(fake.calls)
    assert set(summary["seconds"]) == {"fetch", "mapping", "mrr", "total"}
    assert all(isinstance(v, float) for v in summary["seconds"].values())

    ids = sorted(fake.objects["customers"])
    fake.objects["customers"][ids[0]]["email"] = "changed@example.com"
    del fake.objects["customers"][ids[1]]
    fake.objects["customers"]["cus_new"] = customer(99, 1_600_100_000) | {"id": "cus_new"}
    again = run_cli(["sync", "--db", db, "--streams", "customers", "--full-refresh", "--format", "json"])
    assert again.exit_code == 0, again.stderr
    assert _streams(json.loads(again.stdout))["customers"] == {
        "stream": "customers", "rows": 6, "created": 1, "updated": 1, "deleted": 1, "error": None,
    }


def test_retries_and_429s_are_counted_and_shown(fake, tmp_path):
    answered = {"n": 0}

    def twice_rate_limited(params):
        answered["n"] += 1
        if answered["n"] <= 2:
            return fake.error(429, "rate_limit", "Too many requests", headers={"Retry-After": "0"})
        return None

    fake.faults.append((r"/v1/customers", twice_rate_limited))
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers"])
    assert result.exit_code == 0, result.stderr
    header = result.stderr.splitlines()[0]
    assert re.fullmatch(
        rf"synced {re.escape(str(tmp_path / 'b.db'))} in \d+\.\ds \(fetch \d+\.\ds, mapping \d+\.\ds, MRR \d+\.\ds\): "
        rf"{len(fake.calls)} requests, 2 retried, 2 rate-limited \(429\)",
        header,
    ), header
    assert result.stderr.splitlines()[1].split() == ["stream", "rows", "created", "updated", "deleted"]
    assert "  customers                    6        6        0        0" in result.stderr.splitlines()


def test_csv_is_one_table_of_streams(fake, tmp_path):
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers", "--format", "csv"])
    lines = result.stdout.splitlines()
    assert lines[0] == "stream,rows,created,updated,deleted,error"
    assert "customers,6,6,0,0," in lines


def test_quiet_with_json_prints_only_the_summary(fake, tmp_path):
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers", "--quiet", "--json"])
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["ok"] is True


def test_requests_are_counted_per_endpoint_in_the_summary_and_in_status(fake, tmp_path):
    from collections import Counter

    from connector.providers.stripe import endpoint_of

    db = str(tmp_path / "b.db")
    first = run_cli(["sync", "--db", db, "--streams", "customers,invoices", "--format", "json"])
    assert first.exit_code == 0, first.stderr
    summary = json.loads(first.stdout)
    made = Counter(endpoint_of(path) for path, _ in fake.calls)
    assert summary["requests_by_endpoint"] == dict(made)
    assert sum(summary["requests_by_endpoint"].values()) == summary["requests"] == len(fake.calls)
    # busiest first, as a person reads it
    assert list(summary["requests_by_endpoint"].values()) == sorted(made.values(), reverse=True)

    status = json.loads(run_cli(["status", "--db", db, "--json"]).stdout)["last_sync"]
    assert status["requests"] == len(fake.calls) and status["requests_by_endpoint"] == dict(made)
    text = run_cli(["status", "--db", db]).stdout
    assert f", {len(fake.calls):,} requests" in text.splitlines()[1]
    assert "requests per endpoint: /v1/" in text

    # the nightly run's reads are its own, not added to the first run's
    fake.calls.clear()
    again = json.loads(run_cli(["sync", "--db", db, "--streams", "customers,invoices", "--format", "json"]).stdout)
    assert again["requests_by_endpoint"] == dict(Counter(endpoint_of(path) for path, _ in fake.calls))
    assert json.loads(run_cli(["status", "--db", db, "--json"]).stdout)["last_sync"]["requests"] == len(fake.calls)


def test_a_run_that_did_not_finish_reports_no_requests(fake, tmp_path):
    from connector.store import open_store
    from connector import sync_health

    db = str(tmp_path / "b.db")
    assert run_cli(["sync", "--db", db, "--streams", "customers", "--quiet"]).exit_code == 0
    store = open_store(db)
    try:
        with store.db.atomic():   # what a run that started and was killed leaves
            store.set_meta(sync_health.META_STARTED, str(int(store.meta(sync_health.META_FINISHED)) + 5))
            sync_health.record_requests(store, None)
    finally:
        store.close()
    last = json.loads(run_cli(["status", "--db", db, "--json"]).stdout)["last_sync"]
    assert last["interrupted"] is True and last["requests"] is None and last["requests_by_endpoint"] is None


def test_the_person_reading_the_summary_sees_requests_per_endpoint(fake, tmp_path):
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers"])
    assert result.exit_code == 0, result.stderr
    line = next(l for l in result.stderr.splitlines() if "requests per endpoint" in l)
    assert "/v1/customers" in line and "/v1/account" in line
