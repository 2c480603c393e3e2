"""Stripe's events list read by time window: ``GET /v1/events`` between two instants, of some types.

The sync reads events in windows of ``created`` (``sync/events.py``). Two ways a
Stripe-compatible server can differ from Stripe here, each met once and
remembered for the run: it refuses the ``types[]`` filter (the events are then
read without it; the caller keeps only the types it wants either way), or it
ignores the ``created`` filter (events outside the window are dropped: those
before it were applied, those after it belong to a later window).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..constants import PAGE_SIZE
from .base import EventPage
from .stripe_errors import TypesFilterRefused

log = logging.getLogger("billing_connector.stripe")

# (params, listing) -> (events, next page's cursor): the provider's paging chokepoint on /v1/events
ListEvents = Callable[[dict[str, Any], Any], tuple[list[dict[str, Any]], str | None]]


class EventWindows:
    """Pages of events in a window, with what the server was seen to refuse or ignore."""

    def __init__(self, list_events: ListEvents):
        self._list_events = list_events
        self._lock = threading.Lock()
        self._types_refused = False     # the server refused the types[] filter
        self._warned_unfiltered = False  # the server ignored the created filter (said once)

    def page(self, *, types: list[str], occurred_after: int, occurred_until: int,
             page_token: str | None) -> EventPage:
        """One page of events in ``(occurred_after, occurred_until]``, of ``types`` where the server
        filters them (a server refusing ``types[]`` is read without it from then on)."""
        params: dict[str, Any] = {"limit": PAGE_SIZE, "created[gt]": occurred_after, "created[lte]": occurred_until}
        if page_token:
            params["starting_after"] = page_token
        if types and not self._types_refused:
            try:
                return self._page({**params, **{f"types[{i}]": t for i, t in enumerate(types)}},
                                  occurred_after, occurred_until, tuple(types))
            except TypesFilterRefused as exc:
                with self._lock:
                    first, self._types_refused = not self._types_refused, True
                if first:
                    log.warning("%s; reading events without a types filter", exc)
        return self._page(params, occurred_after, occurred_until, ())

    def _page(self, params: dict[str, Any], occurred_after: int, occurred_until: int,
              types: tuple[str, ...]) -> EventPage:
        # a filtered and an unfiltered read of one window page differently: two listings
        events, next_token = self._list_events(params, ("events", occurred_after, occurred_until, types))
        in_window = [e for e in events if not isinstance(e.get("created"), int)
                     or occurred_after < e["created"] <= occurred_until]
        if len(in_window) < len(events) and not self._warned_unfiltered:
            self._warned_unfiltered = True
            log.warning("/v1/events ignores its created filter; events outside each window are skipped")
        # the next page follows the last event listed, kept or not
        return EventPage(events=in_window, next_token=next_token, outside_window=len(events) - len(in_window))
