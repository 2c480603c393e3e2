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
    """Cursors already followed, per listing (a stream, an events window, one nested list).

    Thread-safe: the slices of one stream page concurrently. Only pages fetched
    *with* a cursor record the cursor that follows them, so an unbounded first
    page (a probe, a restarted slice) can be read again without a false alarm.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Hashable, set[str]] = {}

    def follow(self, listing: Hashable, path: str, next_cursor: str) -> None:
        """Record ``next_cursor``; PaginationError if this listing followed it before."""
        with self._lock:
            seen = self._seen.setdefault(listing, set())
            if next_cursor in seen:
                raise PaginationError(f"{path} returned cursor {next_cursor} twice; refusing to loop")
            seen.add(next_cursor)

    def forget(self, listing: Hashable) -> None:
        """Start the listing afresh (it is legitimately re-read from its start)."""
        with self._lock:
            self._seen.pop(listing, None)


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
