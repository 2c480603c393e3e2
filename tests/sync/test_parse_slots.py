"""At most a few fetch jobs hold parsed responses at once, however many requests are in flight.

A parsed page of invoices is ~100,000 small objects; dozens held at the same
moment left the sync's resident memory at hundreds of MB after they were freed
(connector/parse_slots.py). The bound must hold in the pipeline, free a slot
when a job fails, and never hold back a thread outside a pipeline job.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from connector import parse_slots
from connector.errors import UpstreamUnavailable
from connector.sync.pipeline import Job, Pipeline


class Holders:
    """Counts jobs between a parse and their next request (or their end), as the provider marks them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def parse_then_prepare(self, pages: int = 1) -> int:
        for page in range(pages):
            if page:
                self._leave()
            parse_slots.requesting()    # as the provider does before each request
            time.sleep(0.005)           # the response on its way: no slot needed
            parse_slots.parsing()       # as the provider does before parsing a body
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(0.005)           # turning the page into rows
        self._leave()
        return pages

    def _leave(self) -> None:
        with self.lock:
            self.now -= 1


def test_jobs_holding_parsed_pages_never_exceed_the_slots():
    holders = Holders()
    pipeline = Pipeline(32)
    done = []
    for i in range(120):
        pipeline.submit(Job("invoices", lambda i=i: holders.parse_then_prepare(1 + i % 3), done.append))
    assert pipeline.run(_no_transaction) == {}
    assert len(done) == 120
    assert holders.most <= parse_slots.slots_for(32) < 32
    assert holders.most >= 2            # the bound is not a lock: several jobs parse side by side


def test_a_failing_job_gives_its_slot_back():
    pipeline = Pipeline(4)
    slots = parse_slots.slots_for(4)

    def failing():
        parse_slots.parsing()
        raise UpstreamUnavailable("gone")

    for _ in range(slots + 2):
        pipeline.submit(Job(f"stream{_}", failing, lambda _: None))
    holders = Holders()
    done = []
    for _ in range(slots * 3):
        pipeline.submit(Job("later", holders.parse_then_prepare, done.append))
    failures = {}
    runner = threading.Thread(target=lambda: failures.update(pipeline.run(_no_transaction)), daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "jobs waited for slots that failed jobs kept"
    assert len(failures) == slots + 2
    assert len(done) == slots * 3


def test_pages_waiting_for_the_writer_count_against_the_slots():
    """A page is in memory from its parse until the writer has stored it: when the writer falls
    behind (a loaded machine, a long commit), the pages finished meanwhile wait, and there are never
    more of them than slots, however many requests are in flight."""
    workers = 32
    lock = threading.Lock()
    alive = {"now": 0, "most": 0}

    def parse_page():
        parse_slots.requesting()
        time.sleep(0.002)               # the response on its way
        parse_slots.parsing()
        with lock:
            alive["now"] += 1
            alive["most"] = max(alive["most"], alive["now"])
        return "rows"

    def slow_write(_rows):
        time.sleep(0.01)                # the writer behind the fetches
        with lock:
            alive["now"] -= 1

    pipeline = Pipeline(workers)
    for i in range(150):
        pipeline.submit(Job(f"stream{i % 5}", parse_page, slow_write))
    assert pipeline.run(_no_transaction) == {}
    assert alive["now"] == 0
    assert 2 <= alive["most"] <= parse_slots.slots_for(workers) < workers


def test_a_writer_that_fails_leaves_no_job_waiting_for_a_slot():
    """The slots held by pages the writer will not write are given back when the run fails, so the
    jobs still running end and the run's error reaches the caller (no hang at the pool's shutdown)."""
    workers = 8
    started = threading.Event()

    def parse_page():
        parse_slots.requesting()
        parse_slots.parsing()
        started.set()
        return "rows"

    def failing_write(_rows):
        time.sleep(0.05)                # every slot taken by pages waiting meanwhile
        raise RuntimeError("disk gone")

    pipeline = Pipeline(workers)
    for i in range(60):
        pipeline.submit(Job(f"stream{i % 4}", parse_page, failing_write))
    raised = []

    def run():
        try:
            pipeline.run(_no_transaction)
        except RuntimeError as exc:
            raised.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "jobs still running waited for slots the failed writer held"
    assert started.is_set() and [str(e) for e in raised] == ["disk gone"]


def test_a_job_waiting_for_its_next_page_holds_no_slot():
    """A job reading several pages (a long invoice's lines, a window of events) frees its slot while
    its next request is on its way: jobs waiting on the network never stall the ones with data."""
    workers = 8
    slots = parse_slots.slots_for(workers)
    network = threading.Event()
    waiting = threading.Semaphore(0)

    def long_list():
        parse_slots.requesting()
        parse_slots.parsing()           # the first page parsed
        parse_slots.requesting()        # the second requested...
        waiting.release()
        network.wait(timeout=30)        # ...and slow to come
        parse_slots.parsing()

    parsed_while_they_wait = threading.Event()

    def short_page():
        for _ in range(slots):
            waiting.acquire(timeout=30)
        parse_slots.requesting()
        parse_slots.parsing()
        parsed_while_they_wait.set()
        network.set()

    pipeline = Pipeline(workers)
    for i in range(slots):
        pipeline.submit(Job(f"lines{i}", long_list, lambda _: None))
    pipeline.submit(Job("customers", short_page, lambda _: None))
    runner = threading.Thread(target=lambda: pipeline.run(_no_transaction), daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert parsed_while_they_wait.is_set()


def test_a_thread_outside_a_pipeline_job_is_never_held():
    # a command's own requests (identify, doctor) parse without any job around them
    finished = threading.Event()

    def outside():
        for _ in range(100):
            parse_slots.parsing()
        finished.set()

    threading.Thread(target=outside).start()
    assert finished.wait(timeout=10)


@pytest.mark.parametrize("workers", [1, 2, 8, 16, 50, 64])
def test_every_pipeline_has_at_least_two_slots_and_never_more_than_its_workers(workers):
    assert 2 <= parse_slots.slots_for(workers) <= max(2, workers)


def _written(slots, fetch):
    """A pipeline job run as the pipeline runs it: its page written at once (its slot, if it kept
    one, freed then)."""
    result, holds_slot = parse_slots.run_job(slots, fetch)
    if holds_slot:
        slots.release()
    return result


def _no_transaction():
    return contextlib.nullcontext()


def test_a_page_waiting_for_its_child_lists_holds_no_slot(rsps):
    """Stripe's subscriptions page reads its long item lists before it returns (the nested reads run
    on threads of their own): while it waits for them, its slot goes to a job with data to turn."""
    from connector.http import RateLimiter, RetryPolicy
    from connector.providers.stripe import StripeProvider
    from tests.support.fakestripe import BASE, small_account
    from tests.support.keys import CANARY_KEY

    small_account(customers=3).install(rsps)
    provider = StripeProvider(CANARY_KEY, api_base=BASE, limiter=RateLimiter(1000),
                              retry_policy=RetryPolicy(max_attempts=2, max_seconds=5, initial_wait=0.001, max_wait=0.01))
    reading, answered = threading.Event(), threading.Event()

    def slow_child_list(stream, parent_id, child):
        reading.set()
        answered.wait(timeout=30)
        return [], 1

    provider._needs_read = lambda stream, parent, child: True
    provider._read_child_list = slow_child_list
    slots = threading.Semaphore(1)
    listed = []

    def page_job():
        listed.append(_written(slots, lambda: provider.list_page("subscriptions", page_token=None)))

    lister = threading.Thread(target=page_job)
    lister.start()
    assert reading.wait(timeout=30)
    other = []

    def other_job():
        _written(slots, lambda: parse_slots.parsing() or other.append(True))

    worker = threading.Thread(target=other_job)
    worker.start()
    worker.join(timeout=5)
    parsed_meanwhile = bool(other)
    answered.set()
    lister.join(timeout=30)
    worker.join(timeout=30)
    provider.close()
    assert parsed_meanwhile, "the page kept its slot while it waited for its child lists"
    assert listed and listed[0].objects
