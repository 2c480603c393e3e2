"""Chargebee's events list as a stream: kept for `explain`, never needed.

Read by `occurred_at[after]` (events never change); a first read covers only the last
90 days before the site's newest event; a --full-refresh re-reads that window and
deletes nothing older; a key that may not read events syncs everything else, with a
warning; `explain` shows a customer's events (customer, subscription and invoice events).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from connector.demo_chargebee import DEFAULT_KEY, NOW, FakeChargebee, build_site
from connector.demo_chargebee.mutations import cancel_subscription
from connector.providers.chargebee_catalog import EVENTS_WINDOW_DAYS
from tests.support.cli import run_cli

WINDOW = EVENTS_WINDOW_DAYS * 86400


def run(args, server, env=None):
    environ = {"CHARGEBEE_API_KEY": DEFAULT_KEY, "CHARGEBEE_API_BASE": server.url, **(env or {})}
    return run_cli(args, base=None, key=None, env=environ)


def sync(server, db, *extra, env=None):
    return run(["sync", "--provider", "chargebee", "--site", "acme-test", "--db", str(db), "--format", "json",
                *extra], server, env)


def stored_events(db) -> dict[str, tuple[str, int]]:
    conn = sqlite3.connect(db)
    try:
        return {i: (t, at) for i, t, at in conn.execute("SELECT id, event_type, occurred_at FROM events WHERE _deleted = 0")}
    finally:
        conn.close()


@pytest.fixture()
def server():
    site = build_site(seed=9, customers=24)
    with FakeChargebee(site, per_minute=1000) as running:
        yield running


def test_a_first_read_keeps_the_last_90_days_then_new_events_arrive_and_a_refresh_deletes_nothing(server, tmp_path):
    db = tmp_path / "acme.db"
    everything = server.site.objects["events"]
    newest = max(e["occurred_at"] for e in everything)
    assert min(e["occurred_at"] for e in everything) < newest - WINDOW   # the site has older events too
    assert sync(server, db).exit_code == 0
    window = {e["id"]: (e["event_type"], e["occurred_at"]) for e in everything if e["occurred_at"] > newest - WINDOW}
    assert stored_events(db) == window and window

    sub = next(s for s in server.site.objects["subscriptions"] if s["status"] == "active" and not s["deleted"])
    server.mutate(cancel_subscription, sub["id"], NOW + 7200)
    assert sync(server, db).exit_code == 0
    after = stored_events(db)
    new = {i: v for i, v in after.items() if i not in window}
    assert list(new.values()) == [("subscription_cancelled", NOW + 7200)]

    assert sync(server, db, "--full-refresh").exit_code == 0
    assert stored_events(db) == after     # the window re-read, nothing outside it marked deleted


def test_a_key_that_may_not_read_events_syncs_the_rest_with_a_warning(server, tmp_path):
    server.denied["test_no_events_key_0003"] = {"events"}
    db = tmp_path / "acme.db"
    result = sync(server, db, env={"CHARGEBEE_API_KEY": "test_no_events_key_0003"})
    assert result.exit_code == 0, result.output
    assert "events: not read" in result.stderr and "explain" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == server.site.count("subscriptions")
    finally:
        conn.close()


def test_explain_shows_a_customers_events(server, tmp_path):
    db = tmp_path / "acme.db"
    sub = next(s for s in server.site.objects["subscriptions"] if s["status"] == "active" and not s["deleted"])
    server.mutate(cancel_subscription, sub["id"], NOW + 7200)
    assert sync(server, db).exit_code == 0
    result = run(["explain", sub["customer_id"], "--date", "2025-01-01", "--section", "events", "--db", str(db),
                  "--format", "json"], server)
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)["events"]
    assert ("subscription_cancelled", sub["id"]) in {(e["type"], e["object_id"]) for e in events}
    # every event shown is about this customer (theirs, their subscription's or their invoice's)
    mine = {e["id"] for e in server.site.objects["events"] if sub["customer_id"] in json.dumps(e["content"])}
    assert {e["id"] for e in events} <= mine
