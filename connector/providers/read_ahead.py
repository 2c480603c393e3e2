"""Requests made ahead of their turn: a first sync's first pages while the account is identified.

A sync names the account before it opens the store (``app/syncing.py``: a key of
another account or mode must leave nothing written), and only then starts its
streams. That is one round trip in which nothing else is asked: 0.8 s of a
600-customer first sync's 27 s on a server answering in 0.8 s (BENCHMARKS.md,
eleventh session), on the path every other request waits on (the invoices'
first page, then their lines). The first page of each stream does not depend on
the account, so it is asked for at the same time; the sync takes the answer
when it asks for that very request, and nothing is written before the account
is known.

A request read ahead is counted once, when made. An answer nobody asks for (the
account check failed, a stream was not read) is dropped; an error is handed to
the request that takes it, as if that request had met it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger("billing_connector.read_ahead")


def request_key(path: str, params: Mapping[str, Any]) -> Hashable:
    """A request as a key: its path and its parameters, in any order."""
    return path, tuple(sorted((str(name), repr(value)) for name, value in params.items()))


class ReadAhead:
    """Answers to requests made ahead, each taken at most once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Hashable, Future] = {}
        self._executor: ThreadPoolExecutor | None = None
        self.made = 0    # requests made ahead
        self.taken = 0   # of those, answers a request took

    def start(self, requests: Mapping[Hashable, Callable[[], Any]]) -> None:
        """Make each request (``key -> call``) now, each on a thread of its own."""
        if not requests:
            return
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=len(requests), thread_name_prefix="read-ahead")
            for key, call in requests.items():
                if key not in self._pending:
                    self._pending[key] = self._executor.submit(call)
                    self.made += 1

    def take(self, key: Hashable) -> Future | None:
        """The answer made ahead for this request (waited for by ``result()``), or None: make it."""
        if not self._pending:   # the common case, every request of a sync but its first few
            return None
        with self._lock:
            ahead = self._pending.pop(key, None)
            self.taken += ahead is not None
            return ahead

    def close(self) -> None:
        """Drop the answers nobody took, once the requests still out have ended (each within the
        request deadline): no thread of a run goes on talking to a server after it (a test's server
        stopped under a request wrote its error into the next run's output)."""
        with self._lock:
            unread, self._pending = len(self._pending), {}
            executor, self._executor = self._executor, None
        if unread:
            log.debug("%d request(s) read ahead were not asked for", unread)
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
