"""A body cut in the middle of a UTF-8 character is a failed request, retried — never a crash.

The fault campaign found it: a 200 whose body was cut after the first byte of "é"
(a truncated response) made the Stripe SDK's debug formatting of the body raise
UnicodeDecodeError, which no handler expected, at every log level. The sync must
retry the page like any other malformed body and end with every customer stored,
also with debug logging on (-vv), where the SDK does format bodies.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.support.cli import run_cli
from tests.support.loopback import LoopbackServer, Reply, stripe_list

CUSTOMERS = [{"id": f"cus_{n:04d}", "object": "customer", "created": 1_700_000_000 - n, "name": "Zoé Müller"}
             for n in range(3)]


@pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["default", "debug"])
def test_a_body_cut_inside_a_character_is_retried(tmp_path, verbosity):
    served = {"cut": 0}

    def answer(request):
        # UTF-8 as Stripe sends it (not \u escapes): "é" is two bytes
        body = json.dumps(stripe_list("/v1/customers", CUSTOMERS, False).body, ensure_ascii=False).encode()
        if served["cut"] < 2:   # the first two answers end after the first byte of "é"
            served["cut"] += 1
            body = body[:body.index("é".encode()) + 1]
        return Reply(200, body, {"Content-Type": "application/json"})

    with LoopbackServer(answer) as server:
        result = run_cli([*verbosity, "sync", "--streams", "customers", "--skip-mrr", "--format", "json",
                          "--db", str(tmp_path / "b.db")], base=server.url, fast=True,
                         env={"BILLING_CONNECTOR_MAX_IN_FLIGHT": "1", "BILLING_CONNECTOR_MAX_RETRIES": "4"})
    assert result.exit_code == 0, result.stderr
    assert served["cut"] == 2
    conn = sqlite3.connect(tmp_path / "b.db")
    try:
        names = [json.loads(d)["name"] for (d,) in conn.execute("SELECT data FROM customers ORDER BY id")]
    finally:
        conn.close()
    assert names == ["Zoé Müller"] * 3
