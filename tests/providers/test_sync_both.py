"""The sync's promises, held for every provider against its own fake server.

A complete first sync stores what the server serves, a rerun with no change
writes nothing, changes made upstream arrive on the next run and leave the
store equal to a fresh full sync, and a list that fails midway (429s, then
5xx past the retries) stops only its stream, keeps its last token and is
completed by the next run. (kill -9: tests/providers/test_kill_resume_stripe.py and _chargebee.py.)
"""

from __future__ import annotations

import json

import pytest

from connector.demo_chargebee import Fault as ChargebeeFault
from connector.errors import UpstreamUnavailable
from connector.sync import resolve_streams, run_sync
from tests.support.providers import ACCOUNTS


@pytest.fixture(params=sorted(ACCOUNTS))
def account(request):
    made, stop = ACCOUNTS[request.param](20)
    yield made
    stop()


def _rows(store, live_only: bool = False) -> dict[str, list[tuple]]:
    """Every raw table's rows without sync bookkeeping: (key..., data, _deleted).

    ``live_only``: what the provider lists now. A store kept up to date keeps a
    soft-deleted row and the events that moved its cursors; a fresh one has neither.
    """
    found = {}
    for name, spec in store.raw_tables.items():
        if live_only and name == "events":
            continue
        keys = ", ".join(spec.primary_key)
        where = "WHERE _deleted = 0" if live_only else ""
        found[name] = [(*row[:-2], json.loads(row[-2]), row[-1]) for row in store.db.execute(
            f'SELECT {keys}, data, _deleted FROM "{name}" {where} ORDER BY {keys}')]
    return found


def test_a_first_sync_stores_every_object_the_server_serves(account):
    store = account.open_store()
    report = account.sync(store)
    assert report.failures == {}
    counts = store.table_counts()
    assert {stream: counts[stream] for stream in account.server_counts()} == account.server_counts()
    assert all(state["phase"] == "incremental" for state in (s["state"] for s in store.all_states().values()))


def test_a_rerun_with_no_upstream_change_writes_nothing(account):
    store = account.open_store()
    assert account.sync(store).failures == {}
    seq, rows = store.current_seq(), _rows(store)
    report = account.sync(store)
    assert report.failures == {}
    assert store.current_seq() == seq and _rows(store) == rows


def test_changes_upstream_arrive_and_equal_a_fresh_full_sync(account):
    store = account.open_store()
    assert account.sync(store).failures == {}
    seq = store.current_seq()
    account.change()
    report = account.sync(store)
    assert report.failures == {}
    assert store.current_seq() > seq
    fresh = account.open_store()
    assert account.sync(fresh).failures == {}
    assert _rows(store, live_only=True) == _rows(fresh, live_only=True)


def _rate_limit_customers_twice(account) -> None:
    if account.name == "chargebee":   # Chargebee's 429: api_request_limit_exceeded, with Retry-After
        account.server.faults.append(ChargebeeFault("/customers", status=429, times=2, retry_after=0))
    else:
        account.server.configure(rules=[{"path": "/v1/customers", "fault": "429", "times": 2}])


def _stop_customers_after_the_first_page(account) -> None:
    if account.name == "chargebee":
        account.server.faults.append(ChargebeeFault("/customers", status=503, times=10_000, follow_ups_only=True))
    else:
        account.server.configure(rules=[{"path": "/v1/customers", "fault": "503", "from_nth": 2}])


def _clear_faults(account) -> None:
    if account.name == "chargebee":
        account.server.faults.clear()
    else:
        account.server.configure(rules=[])


def test_429s_are_waited_out_and_the_sync_completes(account):
    store = account.open_store()
    _rate_limit_customers_twice(account)
    provider = account.provider()
    report = run_sync(store, provider, streams=resolve_streams(provider, None), workers=4, clock=account.clock)
    assert report.failures == {}
    assert provider.rate_limited == 2
    assert store.table_counts()["customers"] == account.server_counts()["customers"]


@pytest.fixture(params=sorted(ACCOUNTS))
def two_pages(request):
    made, stop = ACCOUNTS[request.param](130)    # customers span two pages
    yield made
    stop()


def test_a_list_that_stops_midway_keeps_its_page_and_the_next_run_completes_it(two_pages):
    account = two_pages
    store = account.open_store()
    _stop_customers_after_the_first_page(account)
    report = account.sync(store)
    assert isinstance(report.failures.get("customers"), UpstreamUnavailable)
    assert set(report.failures) == {"customers"}             # the other streams went on
    state = store.get_state("customers")
    assert state["phase"] == "full" and state["rows"] >= 100   # the first page stays, with its token
    assert any(s["after"] for s in state["slices"])
    _clear_faults(account)
    assert account.sync(store).failures == {}
    assert store.table_counts()["customers"] == account.server_counts()["customers"]
