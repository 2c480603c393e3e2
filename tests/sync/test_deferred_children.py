"""The work behind the busiest endpoint starts first: invoice lines are read apart from their pages.

Stripe counts every ``GET /v1/invoices/{id}/lines`` as one endpoint, usually the
busiest of a sync. Its reads must queue up from the first seconds, so the invoice
list is read on without waiting for them; the lists still to read are recorded
with the page that named them, so a crash loses none.
"""

from __future__ import annotations

import threading

from connector.errors import UpstreamUnavailable
from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.pipeline import Job, Pipeline
from tests.support.fakestripe import BASE, FakeStripe, customer, invoice
from tests.support.keys import CANARY_KEY

FAST_RETRIES = RetryPolicy(max_attempts=2, max_seconds=5, initial_wait=0.001, max_wait=0.01)
NOW = 1_700_000_000


def account(invoices: int = 230, lines: int = 14) -> FakeStripe:
    custs = [customer(i, 1_600_000_000 + i * 60) for i in range(invoices)]
    invs = [invoice(i, 1_600_000_000 + i * 60 + 2, custs[i]["id"], lines) for i in range(invoices)]
    return FakeStripe({"customers": custs, "invoices": invs})


def provider() -> StripeProvider:
    return StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000), retry_policy=FAST_RETRIES)


def bound_store(p: StripeProvider):
    """A new in-memory store bound to ``p``'s account."""
    store = open_store(None)
    store.bind_account(p.identify())
    return store


def assert_read_whole(store, fake: FakeStripe) -> None:
    """Every invoice's lines stored, the read finished, and no list left to read."""
    assert lines_by_invoice(store) == {
        inv["id"]: [line["id"] for line in inv["_all_lines"]] for inv in fake.objects["invoices"].values()}
    state = store.get_state("invoices")
    assert state["phase"] == "incremental" and "pending_children" not in state
    assert store.pending_children("invoices") == []


def lines_by_invoice(store) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for invoice_id, line_id in store.db.execute(
            "SELECT invoice, id FROM invoice_line_items WHERE _deleted = 0 ORDER BY invoice, id"):
        found.setdefault(invoice_id, []).append(line_id)
    return found


def test_invoice_pages_are_read_on_while_their_line_reads_wait(rsps):
    fake = account()
    fake.install(rsps)
    p = provider()
    listed = threading.Condition()
    pages = {"n": 0}
    waited_for_pages = []
    list_page, read_children = p.list_page, p.read_children

    def counting_list_page(stream, **kwargs):
        page = list_page(stream, **kwargs)
        if stream == "invoices":
            with listed:
                pages["n"] += 1
                listed.notify_all()
        return page

    def held_read_children(stream, child_table, parent_id):
        # The first line reads are held until more invoice pages than the first were listed: with
        # pages waiting for their lines (as before), no second page would ever come.
        with listed:
            waited_for_pages.append(listed.wait_for(lambda: pages["n"] >= 3, timeout=30))
        return read_children(stream, child_table, parent_id)

    p.list_page, p.read_children = counting_list_page, held_read_children
    store = bound_store(p)
    report = run_sync(store, p, streams=["invoices"], workers=6, clock=lambda: NOW)
    assert report.failures == {}
    assert waited_for_pages and all(waited_for_pages)
    # every invoice's 14 lines, though each was read apart from its page
    assert_read_whole(store, fake)


def test_the_state_stays_small_however_many_lists_wait(rsps):
    """Thousands of line lists wait behind their endpoint on a large account: they are rows of their
    own, so the stream's state (written with every page) does not grow with them."""
    fake = account(invoices=230)
    fake.install(rsps)
    p = provider()
    read_children = p.read_children
    all_listed = threading.Event()
    waiting = []

    def after_every_page(stream, child_table, parent_id):
        all_listed.wait(timeout=30)
        return read_children(stream, child_table, parent_id)

    p.read_children = after_every_page
    store = bound_store(p)
    set_state = store.set_state
    written = []

    def recording_set_state(stream, state):
        changed = set_state(stream, state)
        written.append(len(store.db.execute("SELECT state FROM _sync_state WHERE stream = ?", [stream]).fetchone()[0]))
        waiting.append(len(store.pending_children(stream)))
        if state.get("phase") == "full" and not state["slices"]:
            all_listed.set()
        if len(store.pending_children(stream)) >= 200:
            all_listed.set()
        return changed

    store.set_state = recording_set_state
    report = run_sync(store, p, streams=["invoices"], workers=6, clock=lambda: NOW)
    assert report.failures == {}
    assert max(waiting) >= 200                      # most of the 230 lists waited at once
    assert max(written) < 1000                      # and the state never carried them
    assert len(lines_by_invoice(store)) == 230


def test_a_read_begun_by_an_older_version_reads_the_lists_its_state_holds(rsps):
    """A store whose interrupted read kept its pending lists in the state (before
    ``_pending_children``): the next run reads them, and the state no longer carries them."""
    fake = account(invoices=12)
    fake.install(rsps)
    p = provider()
    store = bound_store(p)
    assert run_sync(store, p, streams=["invoices"], workers=4, clock=lambda: NOW).failures == {}
    store.db.execute("DELETE FROM invoice_line_items WHERE invoice IN ('in_00003', 'in_00008')")
    with store.db.atomic():
        store.set_state("invoices", {"phase": "full", "events_cursor": NOW, "slices": [], "refresh": False, "rows": 12,
                                     "pending_children": [["invoice_line_items", "in_00003"],
                                                          ["invoice_line_items", "in_00008"]]})
    assert run_sync(store, provider(), streams=["invoices"], workers=4, clock=lambda: NOW).failures == {}
    assert_read_whole(store, fake)


def test_a_new_read_does_not_inherit_the_lists_an_earlier_one_left(rsps):
    fake = account(invoices=5)
    fake.install(rsps)
    p = provider()
    store = bound_store(p)
    with store.db.atomic():
        store.add_pending_children("invoices", [("invoice_line_items", "in_gone")])
    # a first read (no state): what a lost earlier read left is not read (in_gone would be a 404)
    assert run_sync(store, p, streams=["invoices"], workers=4, clock=lambda: NOW).failures == {}
    assert store.pending_children("invoices") == []
    assert len(lines_by_invoice(store)) == 5


def test_line_reads_left_by_a_failed_run_are_read_by_the_next_one(rsps):
    fake = account(invoices=40)
    fake.install(rsps)
    p = provider()
    read_children = p.read_children
    refused = {"in_00007", "in_00021"}

    def failing(stream, child_table, parent_id):
        if parent_id in refused:
            raise UpstreamUnavailable("provider unavailable (injected)")
        return read_children(stream, child_table, parent_id)

    p.read_children = failing
    store = bound_store(p)
    report = run_sync(store, p, streams=["invoices"], workers=4, clock=lambda: NOW)
    assert "invoices" in report.failures
    state = store.get_state("invoices")
    assert state["phase"] == "full"
    # what is still to read was committed with the pages that named it (at least the refused ones)
    assert {parent for _table, parent in store.pending_children("invoices")} >= refused
    assert {row[0] for row in store.db.execute("SELECT id FROM invoices")} >= refused

    report = run_sync(store, provider(), streams=["invoices"], workers=4, clock=lambda: NOW)
    assert report.failures == {}
    assert lines_by_invoice(store) == {
        inv["id"]: [line["id"] for line in inv["_all_lines"]] for inv in fake.objects["invoices"].values()}
    assert store.get_state("invoices")["phase"] == "incremental"


def test_the_busiest_lane_is_started_first_up_to_a_third_of_the_workers():
    pipeline = Pipeline(9)
    order = []

    def job(group, lane="", priority=1):
        return Job(group, lambda: None, lambda _: order.append((group, lane)), priority=priority, lane=lane)

    for _ in range(5):
        pipeline.submit(job("customers"))
        pipeline.submit(job("invoices", "invoice_line_items", priority=0))
    lanes = []
    for _ in range(6):
        started = pipeline._next_job()
        pipeline._in_lane[(started.group, started.lane)] += 1   # as run() counts it
        lanes.append((started.group, started.lane))
    # three urgent ones first (a third of nine workers), then fair: the other lane catches up
    assert lanes[:3] == [("invoices", "invoice_line_items")] * 3
    assert lanes[3:] == [("customers", "")] * 3


def test_a_failed_group_drops_its_queued_child_reads_too():
    pipeline = Pipeline(2)
    pipeline.submit(Job("invoices", lambda: None, lambda _: None, lane="invoice_line_items"))
    pipeline.submit(Job("invoices", lambda: None, lambda _: None))
    pipeline.submit(Job("customers", lambda: None, lambda _: None))
    pipeline._fail("invoices", UpstreamUnavailable("gone"))
    assert [(j.group, j.lane) for j in iter(pipeline._next_job, None)] == [("customers", "")]
