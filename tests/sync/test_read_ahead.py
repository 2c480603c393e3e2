"""A first sync asks for its streams' first pages while the account is identified (providers/read_ahead.py)."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from connector.demo.server import DemoServer
from connector.providers.read_ahead import ReadAhead, request_key
from connector.providers.stripe import StripeProvider
from tests.support.cli import run_cli


def test_an_answer_made_ahead_is_taken_once_and_an_error_reaches_the_request_that_takes_it():
    ahead = ReadAhead()
    calls = []

    def refused():
        raise PermissionError("no")

    ahead.start({request_key("/v1/a", {"limit": 100, "x": "1"}): lambda: calls.append("a") or {"a": 1},
                 request_key("/v1/b", {}): refused})
    # the same parameters in another order are the same request; another one is not
    assert ahead.take(request_key("/v1/a", {"limit": 100})) is None
    assert ahead.take(request_key("/v1/a", {"x": "1", "limit": 100})).result() == {"a": 1}
    assert ahead.take(request_key("/v1/a", {"x": "1", "limit": 100})) is None   # once: the next is a new request
    with pytest.raises(PermissionError):
        ahead.take(request_key("/v1/b", {})).result()
    assert (ahead.made, ahead.taken, calls) == (2, 2, ["a"])
    ahead.close()


def test_answers_nobody_took_are_dropped_at_close_once_their_requests_ended():
    ahead = ReadAhead()
    started, release, ended = threading.Event(), threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(5)
        ended.set()

    ahead.start({request_key("/v1/slow", {}): slow})
    started.wait(5)
    threading.Timer(0.2, release.set).start()
    ahead.close()
    assert ended.is_set()   # close waited for the request still out
    assert ahead.take(request_key("/v1/slow", {})) is None
    assert (ahead.made, ahead.taken) == (1, 0)


def _sync(url: str, db, monkeypatch, read_ahead: bool) -> tuple[dict, list[ReadAhead]]:
    """A first sync of the demo account through the CLI; its summary and the read-aheads it made."""
    made: list[ReadAhead] = []

    class Recorded(ReadAhead):
        def __init__(self):
            super().__init__()
            made.append(self)

    monkeypatch.setattr("connector.providers.stripe.ReadAhead", Recorded)
    if not read_ahead:
        monkeypatch.setattr(StripeProvider, "read_ahead_first_pages", lambda self, streams: None)
    result = run_cli(["sync", "--db", str(db), "--skip-mrr", "--json"], base=url)
    assert result.exit_code == 0, result.stderr
    monkeypatch.undo()
    return json.loads(result.stdout), made


def _rows(db) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("select name from sqlite_master where type = 'table' "
                                               "and name not like '\\_%' escape '\\' and name not like 'sqlite%'")]
        return {t: sorted(conn.execute(f'select id, data from "{t}"').fetchall()) for t in tables
                if "data" in [c[1] for c in conn.execute(f'pragma table_info("{t}")')]}


def test_a_first_sync_takes_every_page_it_read_ahead_and_makes_no_request_more(tmp_path, monkeypatch):
    with DemoServer(customers=12, seed=4) as server:
        ahead, readers = _sync(server.url, tmp_path / "ahead.db", monkeypatch, read_ahead=True)
        plain, _ = _sync(server.url, tmp_path / "plain.db", monkeypatch, read_ahead=False)
        (reader,) = readers
        # every stream's first page and the test clocks (a test key), each taken by the sync
        assert reader.made == 13 and reader.taken == reader.made
        assert ahead["requests"] == plain["requests"]
        assert ahead["requests_by_endpoint"] == plain["requests_by_endpoint"]
        stored, expected = _rows(tmp_path / "ahead.db"), _rows(tmp_path / "plain.db")
        assert stored.keys() == expected.keys()
        for table, rows in expected.items():
            if table != "events":   # the events stream pages by a window of the sync's own clock
                assert stored[table] == rows, table
        # the next sync into that store starts from what it holds: nothing is read ahead
        _, again = _sync(server.url, tmp_path / "ahead.db", monkeypatch, read_ahead=True)
    assert [r.made for r in again] == [0]


def test_a_key_refused_leaves_no_store_and_no_request_still_out(tmp_path):
    from tests.support.loopback import LoopbackServer, Reply

    refused = Reply(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
    db = tmp_path / "never.db"
    with LoopbackServer(lambda request: refused, account=None) as server:
        result = run_cli(["sync", "--db", str(db), "--skip-mrr"], base=server.url, fast=True)
        paths = server.paths()
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert not db.exists()
    # the first pages were asked for beside the account, and every such request had ended with the run
    assert "/v1/account" in paths and "/v1/invoices" in paths
    assert not [t for t in threading.enumerate() if t.name.startswith("read-ahead")]
