"""Many requests in flight, one writer.

Fetch jobs run in a thread pool (the rate limiter inside the provider decides
how fast they go); their results come back to the calling thread, which is the
only one that writes: every result that completed since the last commit is
applied in one transaction, together with the cursors that follow it. So a
crash at any instant leaves whole pages with their cursors, never a page
without its cursor or a cursor past an unwritten page.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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


class Pipeline:
    """Run jobs concurrently; apply their results in batched transactions.

    ``apply`` may submit more jobs (the next page, a split slice). A job that
    raises a ConnectorError fails its group: queued jobs of the group are
    dropped, other groups go on, and :meth:`run` returns the failures.
    """

    def __init__(self, workers: int, per_group_limit: int | None = None):
        self.workers = max(1, workers)
        self.per_group_limit = per_group_limit or self.workers
        # queued and running jobs per (group, lane): a group's child-list reads queue apart from its pages
        self._queue: dict[tuple[str, str], deque[Job]] = defaultdict(deque)
        self._order: list[tuple[str, str]] = []
        self._running: dict[Future, Job] = {}
        self._in_lane: dict[tuple[str, str], int] = defaultdict(int)
        self.failures: dict[str, ConnectorError] = {}
        # jobs holding parsed responses at once (parse_slots.py: memory flat whatever waits on the network)
        self._parse_slots = threading.Semaphore(parse_slots.slots_for(self.workers))

    def submit(self, job: Job) -> None:
        if job.group in self.failures:
            return
        key = (job.group, job.lane)
        if key not in self._queue:
            self._order.append(key)
        self._queue[key].append(job)

    def has_idle_capacity(self) -> bool:
        """Fewer jobs running or queued than workers: splitting work would use them."""
        return len(self._running) + sum(len(q) for q in self._queue.values()) < self.workers

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
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="fetch") as pool:
            try:
                while True:
                    while len(self._running) < self.workers:
                        job = self._next_job()
                        if job is None:
                            break
                        self._in_lane[(job.group, job.lane)] += 1
                        self._running[pool.submit(self._fetch, job)] = job
                    if not self._running:
                        break
                    done, _ = wait(list(self._running), return_when=FIRST_COMPLETED)
                    finished = [(self._running.pop(f), f) for f in done]
                    results = []
                    for job, future in finished:
                        self._in_lane[(job.group, job.lane)] -= 1
                        error = future.exception()
                        if error is None:
                            results.append((job, future.result()))
                        elif isinstance(error, ConnectorError):
                            self._fail(job.group, error)
                        else:
                            raise error
                    if results:
                        with transaction():
                            for job, result in results:
                                if job.group not in self.failures:
                                    job.apply(result)
                        if after_commit is not None:
                            after_commit()
            except BaseException:
                for future in self._running:
                    future.cancel()
                raise
        return self.failures

    def _fetch(self, job: Job) -> Any:
        with parse_slots.job(self._parse_slots):
            return job.fetch()

    def _fail(self, group: str, error: ConnectorError) -> None:
        self.failures.setdefault(group, error)
        for (queued_group, _lane), queue in self._queue.items():
            if queued_group == group:
                queue.clear()
