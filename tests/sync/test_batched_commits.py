"""The writer's transactions: one per ``commit_every`` seconds, not one per page, and never a page
without its cursor (pipeline.py)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

import pytest

from connector.sync import pipeline as pipeline_module
from connector.sync.pipeline import Job, Pipeline


class Recorder:
    """A transaction that records what each commit held."""

    def __init__(self):
        self.commits: list[list[int]] = []
        self._open: list[int] | None = None

    @contextmanager
    def transaction(self):
        self._open = []
        try:
            yield
        except BaseException:
            self._open = None
            raise
        self.commits.append(self._open)
        self._open = None

    def apply(self, value: int) -> None:
        assert self._open is not None, "a result applied outside a transaction"
        self._open.append(value)


def test_results_that_complete_within_the_interval_share_one_commit():
    recorder = Recorder()
    pipeline = Pipeline(4, commit_every=60)
    for i in range(50):
        pipeline.submit(Job("customers", lambda i=i: i, recorder.apply))
    assert pipeline.run(recorder.transaction) == {}
    # one transaction for them all, committed by the run's end
    assert len(recorder.commits) == 1 and sorted(recorder.commits[0]) == list(range(50))


def test_with_no_interval_each_completed_batch_is_committed_at_once():
    recorder = Recorder()
    pipeline = Pipeline(1, commit_every=0)
    for i in range(5):
        pipeline.submit(Job("customers", lambda i=i: i, recorder.apply))
    pipeline.run(recorder.transaction)
    assert recorder.commits == [[0], [1], [2], [3], [4]]


def test_an_open_transaction_is_committed_when_due_even_while_no_job_finishes():
    """A page applied before a slow request must not wait for that request to be committed."""
    recorder = Recorder()
    committed_first = threading.Event()

    def slow():
        # finishes only once the first page is committed (or gives up after 10 s: the test then fails)
        committed_first.wait(10)
        return "slow"

    def after_commit():
        if recorder.commits and recorder.commits[0] == [1]:
            committed_first.set()

    pipeline = Pipeline(2, commit_every=0.05)
    pipeline.submit(Job("a", lambda: 1, recorder.apply))
    pipeline.submit(Job("b", slow, lambda _: recorder.apply(2)))
    pipeline.run(recorder.transaction, after_commit)
    assert committed_first.is_set()
    assert recorder.commits == [[1], [2]]


def test_a_failing_run_rolls_back_what_is_open_and_keeps_what_was_committed(tmp_path):
    db = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    db.execute("create table pages (n integer)")

    @contextmanager
    def transaction():
        db.execute("begin")
        try:
            yield
        except BaseException:
            db.execute("rollback")
            raise
        db.execute("commit")

    def apply(n):
        db.execute("insert into pages values (?)", [n])

    def crash():
        raise KeyboardInterrupt

    pipeline = Pipeline(1, commit_every=0)
    pipeline.submit(Job("a", lambda: 1, apply))
    pipeline.run(transaction)   # committed on its own
    pipeline = Pipeline(1, commit_every=60)
    pipeline.submit(Job("a", lambda: 2, apply))
    pipeline.submit(Job("a", crash, apply))
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(transaction)
    assert not db.in_transaction
    assert [n for (n,) in db.execute("select n from pages")] == [1]


def test_the_default_interval_is_the_modules_setting(monkeypatch):
    monkeypatch.setattr(pipeline_module, "COMMIT_EVERY_SECONDS", 0.25)
    assert Pipeline(2).commit_every == 0.25
    assert Pipeline(2, commit_every=0).commit_every == 0


def test_jobs_finishing_one_at_a_time_among_many_in_flight_are_each_applied_once_as_they_finish():
    """At Stripe's limit jobs finish one by one while dozens wait on the network: the writer hears of
    each as it finishes (a queue its done-callback fills), whichever of the running jobs it is."""
    recorder = Recorder()
    jobs = 30
    release = [threading.Event() for _ in range(jobs)]

    def fetch(i: int) -> int:
        assert release[i].wait(30)
        return i

    def apply(i: int) -> None:
        recorder.apply(i)
        if i > 0:
            release[i - 1].set()   # the next job finishes once this one is applied: one at a time

    pipeline = Pipeline(jobs, commit_every=0)
    for i in range(jobs):
        pipeline.submit(Job("invoices", lambda i=i: fetch(i), apply))
    release[-1].set()   # the last submitted finishes first
    assert pipeline.run(recorder.transaction) == {}
    assert recorder.commits == [[i] for i in reversed(range(jobs))]   # each once, as it finished


def test_the_pipeline_runs_as_many_jobs_at_once_as_its_capacity_says_within_its_bounds():
    """The sync keeps more requests in flight when the server turns out slow (limiter.in_flight_needed):
    the pipeline asks its capacity as jobs finish, never above ``most``."""
    recorder = Recorder()
    capacity = {"now": 2}
    running, most_at_once = 0, 0
    lock = threading.Lock()
    gate = threading.Event()

    def fetch(i: int) -> int:
        nonlocal running, most_at_once
        with lock:
            running += 1
            most_at_once = max(most_at_once, running)
            if most_at_once >= 6:
                gate.set()
        if i >= 2:
            assert gate.wait(30)   # the later jobs wait together: as many run at once as allowed
        with lock:
            running -= 1
        return i

    def apply(i: int) -> None:
        recorder.apply(i)
        capacity["now"] = 50       # the first results show a slow server: capacity grows (past most)

    pipeline = Pipeline(2, commit_every=0, capacity=lambda: capacity["now"], most=6)
    for i in range(12):
        pipeline.submit(Job("invoices", lambda i=i: fetch(i), apply))
    assert pipeline.run(recorder.transaction) == {}
    assert sorted(v for commit in recorder.commits for v in commit) == list(range(12))
    assert most_at_once == 6
