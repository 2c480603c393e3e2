"""Issue 14: an events list that ignores its ``created[gt]``/``created[lte]`` window.

The server honours ``starting_after`` and ``limit`` but lists every event it has,
whatever window is asked for. The incremental sync must still apply exactly the
changes inside its window — none lost (not even when the first page holds only
events outside it), none applied twice — read the list a bounded number of times
and say what the server does.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.support.cli import run_cli
from tests.support.loopback import LoopbackServer, Reply, stripe_error, stripe_list

SYNC = ["sync", "--streams", "customers", "--skip-mrr"]
DAY = 24 * 3600
WARNING = "warning: /v1/events ignores its created filter; events outside each window are skipped"


class Account:
    """Customers that honour every list parameter, and events that ignore `created[...]`."""

    def __init__(self, newest_first: bool):
        self.newest_first = newest_first
        self.customers = {
            f"cus_{n}": {"id": f"cus_{n}", "object": "customer", "created": 1_600_000_000 + n, "email": f"{n}@old.example"}
            for n in range(1, 5)
        }
        self.events: list[dict] = []

    def add_event(self, event_type: str, customer: dict, created: int) -> None:
        self.events.append({"id": f"evt_{len(self.events) + 1:04d}", "object": "event", "type": event_type,
                            "created": created, "data": {"object": dict(customer)}})

    def answer(self, request):
        if request.path == "/v1/customers":
            return self._page(request, "/v1/customers", self._customers_in_range(request.query), newest_first=True)
        if request.path.startswith("/v1/customers/"):
            found = self.customers.get(request.path.rsplit("/", 1)[1])
            if found is None:
                return stripe_error(404, "No such customer", code="resource_missing")
            return Reply(200, found)
        if request.path == "/v1/events":
            return self._page(request, "/v1/events", self.events, newest_first=self.newest_first)
        return stripe_error(404, f"Unrecognized request URL (GET: {request.path})")

    def _customers_in_range(self, query: dict) -> list[dict]:
        low = int(query.get("created[gte]", -(10**12)))
        high = int(query.get("created[lt]", 10**12))
        return [c for c in self.customers.values() if low <= c["created"] < high]

    @staticmethod
    def _page(request, url: str, items: list[dict], newest_first: bool):
        ordered = sorted(items, key=lambda o: (o["created"], o["id"]), reverse=newest_first)
        after = request.query.get("starting_after")
        start = 0 if after is None else next(i for i, o in enumerate(ordered) if o["id"] == after) + 1
        limit = int(request.query.get("limit", 10))
        return stripe_list(url, ordered[start:start + limit], start + limit < len(ordered))


def stored_customers(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, json_extract(data, '$.email'), _deleted FROM customers ORDER BY id").fetchall()


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest-first", "oldest-first"])
def test_an_events_list_ignoring_its_window_applies_exactly_the_changes_inside_it(tmp_path, newest_first):
    account = Account(newest_first)
    db = str(tmp_path / "b.db")
    with LoopbackServer(account.answer) as server:
        first = run_cli([*SYNC, "--db", db], base=server.url, fast=True)
        assert first.exit_code == 0, first.stderr
        # The CLI runs on the real clock: move the cursor back three days, so the window spans four chunks.
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE _sync_state SET state = json_set(state, '$.events_cursor', "
                         f"json_extract(state, '$.events_cursor') - {3 * DAY})")
            cursor = conn.execute("SELECT json_extract(state, '$.events_cursor') FROM _sync_state").fetchone()[0]

        # before the window: already applied (the store holds cus_1 as it is); must not be re-applied
        for n in range(60):
            account.add_event("customer.updated", account.customers["cus_1"], cursor - DAY + n)
        # inside the window, in three of its four one-day chunks
        account.customers["cus_2"]["email"] = "2@new.example"
        account.add_event("customer.updated", account.customers["cus_2"], cursor + 100)
        account.add_event("customer.updated", account.customers["cus_2"], cursor + 200)  # same object twice
        deleted = account.customers.pop("cus_3")
        account.add_event("customer.deleted", deleted, cursor + DAY + DAY // 2)
        account.customers["cus_5"] = {"id": "cus_5", "object": "customer", "created": cursor + 2 * DAY + 10,
                                      "email": "5@new.example"}
        account.add_event("customer.created", account.customers["cus_5"], cursor + 2 * DAY + 10)
        in_window = [e["id"] for e in account.events[60:]]
        # after the window (younger than the sync's 60 s safety lag): a busy minute, a whole first page of
        # it when the list is newest first; left for the next sync
        now = int(time.time())
        for n in range(110):
            account.add_event("customer.updated", account.customers["cus_4"], now - 5)
        server.requests.clear()

        second = run_cli([*SYNC, "--db", db], base=server.url, fast=True, env={"BILLING_CONNECTOR_MAX_IN_FLIGHT": "1"})

    assert second.exit_code == 0, second.stderr
    assert WARNING in second.stderr.splitlines()
    assert stored_customers(db) == [
        ("cus_1", "1@old.example", 0), ("cus_2", "2@new.example", 0), ("cus_3", "3@old.example", 1),
        ("cus_4", "4@old.example", 0), ("cus_5", "5@new.example", 0)]
    with sqlite3.connect(db) as conn:
        # the events that moved the cursor, each once; none from before or after the window
        assert [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")] == in_window
        (state,) = conn.execute("SELECT json_extract(state, '$.events_cursor') FROM _sync_state").fetchone()
    # the sync stays its 60 s safety lag behind its own clock, read after `now` (a loaded machine can
    # start the run a second or more later)
    assert cursor + 3 * DAY - 120 < state <= int(time.time()) - 60
    # each changed object re-fetched once, the one before the window not at all
    details = [r.path for r in server.requests if r.path.startswith("/v1/customers/")]
    assert details == ["/v1/customers/cus_2", "/v1/customers/cus_3", "/v1/customers/cus_5"]
    # 175 events, 2 pages: the probe shows the window ignored, so the window is read once, as one
    # chunk (not 2 pages for each of its four one-day chunks)
    listed = sorted(account.events, key=lambda e: (e["created"], e["id"]), reverse=newest_first)
    assert [r.query.get("starting_after") for r in server.requests if r.path == "/v1/events"] == [
        None, None, listed[99]["id"]]
