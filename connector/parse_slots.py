"""How many of the sync's fetch jobs may hold parsed responses at once.

A page of 100 Stripe invoices parses into about 100,000 small Python objects
(several MB), held by its worker from the parse until the page is turned into
store rows. Fifty requests are in flight at 100 requests/s and 250 ms latency;
when the CPU is busy (a loaded machine, or the writer catching up), responses
can arrive faster than the one thread holding the GIL turns them into rows,
and each worker past its parse holds a page. Python's small-object allocator
keeps the memory such a peak took: an arena goes back to the system only when
every object in it is freed, and the long-lived objects allocated meanwhile
pin them. A 20,000-customer sync kept 766 MB resident for 34 MB of live
objects (535 arenas, 491 MB of them in unused pools) after one such peak: that
one came from the events history holding whole windows of events (fixed in
``sync/events.py``); this bound keeps parsed pages from making another.

Parsing and preparing rows hold the GIL, so running more of them at once gains
nothing: a job takes a slot before it parses a response body (``parsing``) and
gives it back when it sends its next request (``requesting``: by then a page is
rows, or filtered down to what the job keeps) or when it fails. A job that ends
with its page (``run_job``) hands its slot to the pipeline's writer, which frees
it once the page is written: a page of invoices waiting for the writer is its
rows, texts and all (about 2 MB with its lines), and when the writer falls
behind (a loaded machine, a slow disk, a long commit) the pages finished in the
meantime used to wait in memory, as many as there were requests in flight (up
to 256 on a slow server). So at most ``slots`` pages exist between their parse
and their write, however many requests wait on the network, and no job keeps a
slot while it waits. A thread outside a pipeline job (a command's own requests,
the threads that read child lists for a page) is never held back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_local = threading.local()


def run_job(slots: threading.Semaphore, fetch: Callable[[], T]) -> tuple[T, bool]:
    """``fetch()`` as a pipeline job whose parses share ``slots``: (its result, whether the job still
    holds a slot). A job that ends with a parsed page keeps its slot: the caller frees it
    (``slots.release()``) once the result is written. A job that fails frees it here."""
    _local.slots, _local.held = slots, False
    try:
        result = fetch()
        return result, _local.held
    except BaseException:
        if _local.held:
            slots.release()
        raise
    finally:
        _local.slots, _local.held = None, False


def parsing() -> None:
    """Before parsing a response body: wait for a slot, unless this thread's job holds one already."""
    slots = getattr(_local, "slots", None)
    if slots is not None and not _local.held:
        slots.acquire()
        _local.held = True


def requesting() -> None:
    """Before waiting on the network (sending a request, waiting for the rate limiter to allow one,
    or for requests made on the job's behalf): free this job's slot."""
    if getattr(_local, "held", False):
        _local.slots.release()
        _local.held = False


def slots_for(workers: int) -> int:
    """Jobs holding freshly parsed data at once: a few beyond the one the GIL runs, so the next
    response is parsed while others are still being turned into rows."""
    return max(2, min(workers, 4 + workers // 8))
