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
