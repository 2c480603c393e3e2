"""The loop guard every provider's paging chokepoint applies to each page it receives.

A server that repeats a page, hands back the cursor it was given, says
``has_more`` with nothing in the page, or ignores a ``created`` range would
otherwise keep a sync paging until it is killed (982 requests in 40 s). Each
check here stops such a list after at most one extra request, naming the
endpoint. Provider-independent: it sees plain dicts with ``id`` and a creation time (``created``).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from ..errors import PaginationError
from .base import FilterIgnored


class CursorLedger:
    """Cursors already followed, per read of a listing (a stream, an events window, one nested list).

    Thread-safe: the slices of one stream page concurrently. Only pages fetched
    *with* a cursor record the cursor that follows them, so an unbounded first
    page (a probe, a restarted slice) can be read again without a false alarm.
    A page asked for without a cursor starts a new read of its listing, and a
    page asked for after a cursor belongs to the read that handed that cursor
    out: a listing read again from its start (a fall-back re-read) while a
    request of the read it replaces is still in flight meets that request's
    cursors without a false alarm, and a loop within one read is still found.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Hashable, set[str]] = {}
        self._reads: dict[Hashable, int] = {}                       # listing -> reads started
        self._read_of: dict[tuple[Hashable, str], Hashable] = {}    # (listing, cursor handed out) -> its read

    def read(self, listing: Hashable, after: str | None) -> Hashable:
        """The read a page of ``listing`` asked for after ``after`` belongs to."""
        with self._lock:
            if after is None:
                self._reads[listing] = self._reads.get(listing, 0) + 1
                return (listing, self._reads[listing])
            return self._read_of.get((listing, after), (listing, 0))   # 0: a read resumed from a stored cursor

    def handed(self, listing: Hashable, read: Hashable, next_cursor: str) -> None:
        """``read`` handed out ``next_cursor``: the page after it belongs to that read."""
        with self._lock:
            self._read_of[(listing, next_cursor)] = read

    def follow(self, read: Hashable, path: str, next_cursor: str) -> None:
        """Record ``next_cursor``; PaginationError if this read followed it before."""
        with self._lock:
            seen = self._seen.setdefault(read, set())
            if next_cursor in seen:
                raise PaginationError(f"{path} returned cursor {next_cursor} twice; refusing to loop")
            seen.add(next_cursor)

    def forget(self, listing: Hashable) -> None:
        """Start the listing afresh (it is legitimately re-read from its start)."""
        with self._lock:
            for read in [read for read in self._seen if read[0] == listing]:
                del self._seen[read]
            for key in [key for key in self._read_of if key[0] == listing]:
                del self._read_of[key]


def check_page(
    path: str,
    objects: list[dict[str, Any]],
    has_more: bool,
    *,
    after: str | None,
    created_gte: int | None = None,
    created_lt: int | None = None,
    creation_field: str = "created",
) -> str | None:
    """Refuse a page that would make its list loop; return the cursor of the next page (None: done).

    Raises FilterIgnored when an object's ``creation_field`` lies outside ``[created_gte, created_lt)``
    and PaginationError for an empty page with ``has_more``, a page holding the
    very object it was asked to list after, or a last object without an id.
    """
    if created_gte is not None or created_lt is not None:
        low = created_gte if created_gte is not None else float("-inf")
        high = created_lt if created_lt is not None else float("inf")
        outside = [o for o in objects
                   if isinstance(o.get(creation_field), int) and not low <= o[creation_field] < high]
        if outside:
            raise FilterIgnored(
                f"{path} returned objects created outside the range asked for ({creation_field} "
                f"{outside[0][creation_field]} not in [{created_gte}, {created_lt})): the server ignores created filters"
            )
    if after is not None and any(o.get("id") == after for o in objects):
        raise PaginationError(f"{path} returned the object {after} it was asked to list after: it ignores starting_after; refusing to loop")
    if not has_more:
        return None
    if not objects:
        raise PaginationError(f"{path} said has_more with an empty page; refusing to loop")
    next_cursor = objects[-1].get("id")
    if not isinstance(next_cursor, str) or not next_cursor:
        raise PaginationError(f"{path} said has_more but its last object has no id to continue from")
    return next_cursor
