"""Bad rows are quarantined, not fatal: the page, the stream, the MRR refresh and every export carry on (exit 8)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from connector.errors import EXIT_OK, EXIT_REJECTED

from tests.support.fakestripe import customer, small_account
from tests.support.loopback import LoopbackStripe
from tests.support.cli import run_cli

YEAR_10001 = 253_402_300_800 + 400 * 86_400
STREAMS = "customers,subscriptions,invoices"


def hostile_account():
    """Six good customers, and among them every shape of object a store or mapping cannot hold."""
    fake = small_account(customers=6)
    customers = fake.objects["customers"]
    customers["cus_huge"] = {**customer(90, 1_600_000_500), "id": "cus_huge", "balance": 10**20}
    customers["cus_y10001"] = {**customer(91, 1_600_000_600), "id": "cus_y10001", "created": YEAR_10001}
    # a line amount SQLite cannot hold: embedded in its invoice, the invoice is quarantined; read
    # from the invoice's further lines (in_00005 has 14), only the line is, and the invoice stored
    invoice = fake.objects["invoices"]["in_00002"]
    for line in (invoice["_all_lines"][0], invoice["lines"]["data"][0]):
        line["amount"] = 10**20
    fake.objects["invoices"]["in_00005"]["_all_lines"][12]["amount"] = 10**20

    def with_shapeless_objects(params):
        # an object without an id and a bare string, in the middle of the first page
        status, headers, body = fake.page(
            sorted(fake.objects["customers"].values(), key=lambda o: (o["created"], o["id"]), reverse=True),
            params, "/v1/customers")
        page = json.loads(body)
        if not params.get("starting_after") and page.get("data"):
            page["data"][2:2] = [{"object": "customer", "created": 1_600_000_700, "email": "anon@example.com"},
                                 "cus_just_a_string"]
        return status, headers, json.dumps(page)

    fake.faults.append((r"/v1/customers", with_shapeless_objects))
    return fake


@pytest.fixture
def served():
    fake = hostile_account()
    with LoopbackStripe(fake) as server:
        yield fake, server


def quarantined(db):
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT stream, object_id, reason, run FROM _quarantine").fetchall(),
                      key=lambda row: (row[0], row[1] or "", row[2]))


GOOD_CUSTOMERS = [f"cus_{n:05d}" for n in range(6)]


def test_bad_objects_are_quarantined_and_the_rest_of_the_run_carries_on(served, tmp_path):
    fake, server = served
    db = str(tmp_path / "billing.db")
    result = run_cli(["sync", "--db", db, "--streams", STREAMS], base=server.url)
    assert result.exit_code == EXIT_REJECTED, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "warning: 6 records could not be stored or mapped and were quarantined; "
        "everything else is up to date (see `billing-connector status`)")
    rows = quarantined(db)
    assert [(stream, object_id, reason) for stream, object_id, reason, _run in rows] == [
        ("customers", None, "no id"),
        ("customers", None, "not an object: a JSON str"),
        ("customers", "cus_huge", "number out of range at balance: 100000000000000000000"),
        ("customers", "cus_y10001", f"date out of range at created: {YEAR_10001} is not in years 1..9999"),
        ("invoice_line_items", "il_00005_12", "number out of range at amount: 100000000000000000000"),
        ("invoices", "in_00002", "number out of range at lines.data[0].amount: 100000000000000000000"),
    ]
    assert len({run for *_, run in rows}) == 1
    with sqlite3.connect(db) as conn:
        # every good object of the page and of the other streams is stored; the line's invoice too
        assert [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id")] == GOOD_CUSTOMERS
        assert conn.execute("SELECT count(*) FROM invoices").fetchone() == (5,)
        # in_00005 is stored without a partial list of lines (nothing stored, nothing deleted)
        assert conn.execute("SELECT count(*) FROM invoices WHERE id = 'in_00005'").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM invoice_line_items WHERE invoice = 'in_00005'").fetchone() == (0,)
        # the MRR refresh ran for everyone
        assert conn.execute("SELECT count(*) FROM billing_customers WHERE _deleted = 0").fetchone() == (6,)
        raw = conn.execute("SELECT raw FROM _quarantine WHERE object_id = 'cus_huge'").fetchone()[0]
    assert json.loads(raw)["balance"] == 10**20

    status = json.loads(run_cli(["status", "--db", db, "--json"], base=server.url).output)
    assert status["quarantined"] == {"customers": 4, "invoice_line_items": 1, "invoices": 1}
    text = run_cli(["status", "--db", db], base=server.url).output
    assert "quarantined (could not be stored or mapped; the rest carried on; see docs/store.md):" in text
    assert "  customers                    4" in text

    exported = run_cli(["export", "--db", db, "--to", f"csv:{tmp_path / 'out'}"], base=server.url)
    assert exported.exit_code == EXIT_OK, exported.stderr


def test_a_fixed_object_leaves_the_quarantine(served, tmp_path):
    fake, server = served
    db = str(tmp_path / "billing.db")
    assert run_cli(["sync", "--db", db, "--streams", STREAMS], base=server.url).exit_code == EXIT_REJECTED
    fake.objects["customers"]["cus_huge"]["balance"] = 0
    fake.objects["customers"]["cus_huge"]["created"] = 1_600_000_800  # not needed, but an update moves it
    # the CLI runs on the real clock: move the cursors back an hour, so the new events fall in its window
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE _sync_state SET state = json_set(state, '$.events_cursor', "
                     "json_extract(state, '$.events_cursor') - 3600)")
        cursor = conn.execute("SELECT min(json_extract(state, '$.events_cursor')) FROM _sync_state").fetchone()[0]
    fake.add_event("customer.updated", {"id": "cus_huge", "object": "customer"}, cursor + 10)
    fake.events.append({"object": "event", "type": "customer.updated", "created": cursor + 11,
                        "data": {"object": {"object": "customer"}}})  # an event without an id
    result = run_cli(["sync", "--db", db, "--streams", STREAMS], base=server.url)
    assert result.exit_code == EXIT_REJECTED, result.stderr
    streams = [(stream, object_id) for stream, object_id, *_ in quarantined(db)]
    assert ("customers", "cus_huge") not in streams
    assert ("events", None) in streams
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE id = 'cus_huge'").fetchone() == (1,)
