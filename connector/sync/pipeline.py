"""Many requests in flight, one writer.

Fetch jobs run in a thread pool (the rate limiter inside the provider decides
how fast they go); their results come back to the calling thread, which is the
only one that writes: each result is applied as it completes, inside a
transaction that holds the cursors that follow its pages and is committed once
it is ``commit_every`` seconds old (or the work is done). So a crash at any
instant leaves whole pages with their cursors, never a page without its cursor
or a cursor past an unwritten page, and loses at most that much work.

Why not a commit per result: at Stripe's latency results complete one or two at
a time, and each commit is a WAL append of every page it dirtied. Objects are
keyed by random ids, so a page of 100 rows dirties about 100 leaf pages of each
index: a transaction a second long writes a leaf that many pages touched once.
At 2,000 customers (250 ms, 100 requests/s): 1,564 commits became 69
(BENCHMARKS.md, sixth session).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from contextlib import ExitStack
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .. import parse_slots
from ..errors import ConnectorError
from .arenas import limit_malloc_arenas


@dataclass
class Job:
    group: str                                  # fairness and failure unit (a stream)
    fetch: Callable[[], Any]                    # runs in a worker thread
    apply: Callable[[Any], None]                # runs in the writer, inside the transaction
    # 0: work behind the busiest endpoint (a stream whose pages bring nested lists to read, and
    # those reads): started before the rest while its lane holds less than a third of the workers
    priority: int = 1
    lane: str = ""                              # a queue of its own within the group (child-list reads)


# How old a transaction may grow before the writer commits it (see the module's docstring).
COMMIT_EVERY_SECONDS = 1.0


class Pipeline:
    """Run jobs concurrently; apply their results in batched transactions.

    ``apply`` may submit more jobs (the next page, a split slice). A job that
    raises a ConnectorError fails its group: queued jobs of the group are
    dropped, other groups go on, and :meth:`run` returns the failures.
    """

    def __init__(self, workers: int, per_group_limit: int | None = None, commit_every: float | None = None, *,
                 capacity: Callable[[], int] | None = None, most: int | None = None):
        """``workers`` jobs run at once; with ``capacity``, as many as it says (asked as jobs finish,
        between ``workers`` and ``most``): the requests in flight the latency seen needs."""
        self.workers = max(1, workers)
        self._capacity = capacity
        self._most = max(self.workers, most or self.workers)
        self.commit_every = COMMIT_EVERY_SECONDS if commit_every is None else commit_every
        self._group_limit = per_group_limit
        # queued and running jobs per (group, lane): a group's child-list reads queue apart from its pages
        self._queue: dict[tuple[str, str], deque[Job]] = defaultdict(deque)
        self._order: list[tuple[str, str]] = []
        self._running: dict[Future, Job] = {}
        self._in_lane: dict[tuple[str, str], int] = defaultdict(int)
        self.failures: dict[str, ConnectorError] = {}
        # jobs holding parsed responses, or their rows waiting for the writer, at once (parse_slots.py:
        # memory flat whatever waits on the network, and however far behind the writer falls)
        self._parse_slots = threading.Semaphore(parse_slots.slots_for(self.workers))
        self._completed: queue.SimpleQueue[Future] = queue.SimpleQueue()   # jobs finished, as they finish

    @property
    def per_group_limit(self) -> int:
        return self._group_limit or self.workers

    def submit(self, job: Job) -> None:
        if job.group in self.failures:
            return
        key = (job.group, job.lane)
        if key not in self._queue:
            self._order.append(key)
        self._queue[key].append(job)

    def spare_capacity(self) -> int:
        """Workers no job running or queued would take: how many more jobs would start now."""
        return max(0, self.workers - len(self._running) - sum(len(q) for q in self._queue.values()))

    def _next_job(self) -> Job | None:
        """The queued job of the lane with the fewest running jobs (fair across streams), the work
        behind the busiest endpoint first while its lane holds less than a third of the workers."""
        best, best_key = None, None
        for key in self._order:
            queue = self._queue[key]
            if queue and self._in_lane[key] < self.per_group_limit:
                urgent = queue[0].priority == 0 and self._in_lane[key] < max(2, self.workers // 3)
                rank = (0 if urgent else 1, self._in_lane[key])
                if best_key is None or rank < best_key:
                    best, best_key = key, rank
        return self._queue[best].popleft() if best is not None else None

    def run(self, transaction: Callable[[], Any], after_commit: Callable[[], None] | None = None) -> dict[str, ConnectorError]:
        """Until no job is queued or running. ``transaction()`` is a context manager (db.atomic)."""
        limit_malloc_arenas()  # before the fetch threads exist (arenas.py: memory flat in the account's size)
        batch = _Batch(transaction, after_commit, self.commit_every)
        with ThreadPoolExecutor(max_workers=self._most, thread_name_prefix="fetch") as pool:   # threads made as needed
            try:
                while True:
                    if self._capacity is not None:
                        self.workers = max(1, min(self._most, self._capacity()))
                    while len(self._running) < self.workers:
                        job = self._next_job()
                        if job is None:
                            break
                        self._in_lane[(job.group, job.lane)] += 1
                        future = pool.submit(self._fetch, job)
                        self._running[future] = job
                        future.add_done_callback(self._completed.put)
                    if not self._running:
                        break
                    # woken to commit when the transaction comes of age, even if no job finishes by then
                    finished = [(self._running.pop(f), f) for f in self._finished(batch.seconds_left())]
                    results = []
                    for job, future in finished:
                        self._in_lane[(job.group, job.lane)] -= 1
                        error = future.exception()
                        if error is None:
                            results.append((job, *future.result()))
                        elif isinstance(error, ConnectorError):
                            self._fail(job.group, error)
                        else:
                            raise error
                    if results:
                        batch.begin()
                        for job, result, holds_slot in results:
                            try:
                                if job.group not in self.failures:
                                    job.apply(result)
                            finally:
                                if holds_slot:   # the page is written (or dropped): another may be parsed
                                    self._parse_slots.release()
                    batch.commit_if_due()
                batch.commit()
            except BaseException:
                batch.abandon()   # rolled back: its pages and their cursors are read again next time
                for future in self._running:
                    future.cancel()
                # The jobs still running end before the pool shuts down: none may wait for a slot
                # held by a page the writer will not write now.
                self._parse_slots.release(self._most + len(self._running))
                raise
        return self.failures

    def _finished(self, timeout: float | None) -> list[Future]:
        """The jobs finished by now, waiting up to ``timeout`` seconds (None: for ever) for the first.

        Through a queue their done-callbacks fill rather than ``concurrent.futures.wait``, which
        hooks a waiter onto every running future on each call: at Stripe's limit jobs finish one at
        a time, and that was a pass over the fifty in flight per finished job."""
        try:
            done = [self._completed.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                done.append(self._completed.get_nowait())
            except queue.Empty:
                return done

    def _fetch(self, job: Job) -> tuple[Any, bool]:
        """(the job's result, whether it holds a parse slot, freed once the writer has applied it)."""
        return parse_slots.run_job(self._parse_slots, job.fetch)

    def _fail(self, group: str, error: ConnectorError) -> None:
        self.failures.setdefault(group, error)
        for (queued_group, _lane), queue in self._queue.items():
            if queued_group == group:
                queue.clear()


class _Batch:
    """The writer's transaction in progress: begun by the first result applied, committed once
    ``seconds`` old (or at the end of the run)."""

    def __init__(self, transaction: Callable[[], Any], after_commit: Callable[[], None] | None, seconds: float):
        self._transaction = transaction
        self._after_commit = after_commit
        self._seconds = seconds
        self._open: ExitStack | None = None
        self._began = 0.0

    def begin(self) -> None:
        if self._open is None:
            stack = ExitStack()
            stack.enter_context(self._transaction())
            self._open, self._began = stack, time.monotonic()

    def seconds_left(self) -> float | None:
        """How long the writer may wait before this transaction is due; None: none is open."""
        if self._open is None:
            return None
        return max(0.0, self._began + self._seconds - time.monotonic())

    def commit_if_due(self) -> None:
        if self._open is not None and time.monotonic() - self._began >= self._seconds:
            self.commit()

    def commit(self) -> None:
        if self._open is None:
            return
        stack, self._open = self._open, None
        stack.close()
        if self._after_commit is not None:
            self._after_commit()

    def abandon(self) -> None:
        """Roll the open transaction back (the run is failing)."""
        if self._open is not None:
            stack, self._open = self._open, None
            stack.__exit__(RuntimeError, RuntimeError("the pipeline failed"), None)
