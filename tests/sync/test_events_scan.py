"""A window of events is filtered page by page: what the caller does not need is never held.

A day of a large account's events, each carrying a whole object, is hundreds of
MB parsed; the history read takes ten windows side by side. The scan keeps only
the events its caller wants, counts every event once, and keeps the first copy
of an event listed twice.
"""

from __future__ import annotations

import weakref

from connector.providers.base import EventPage
from connector.sync.events import EventsHistory


class Event(dict):
    """A dict that can be watched for being freed."""


class PagedEvents:
    """Events pages of a provider: 50 pages of 100, one in ten of the kind wanted, a duplicate per page."""

    history_event_types = {"customer.subscription.updated"}

    def __init__(self) -> None:
        self.handed: list[weakref.ref] = []
        self.alive_at_each_page: list[int] = []

    def events_page(self, *, types, occurred_after, occurred_until, page_token):
        number = int(page_token or 0)
        self.alive_at_each_page.append(sum(ref() is not None for ref in self.handed))
        events = [Event(id=f"evt_{number}_{i}", created=occurred_until - number,
                        type="customer.subscription.updated" if i % 10 == 0 else "invoice.updated",
                        data={"object": {"id": f"obj_{i}", "lines": list(range(20))}}) for i in range(100)]
        if number:
            events.append(Event(id=f"evt_{number - 1}_0", created=0, type="customer.subscription.updated"))
        self.handed += [weakref.ref(event) for event in events]
        return EventPage(events=events, next_token=str(number + 1) if number < 49 else None)

    @staticmethod
    def event_time(event):
        return event["created"]


def test_the_history_scan_holds_only_the_events_it_keeps():
    provider = PagedEvents()
    history = EventsHistory(store=None, provider=provider, cursors={}, until=2_000_000, progress=None)
    seen, kept = history._scan(1_000_000, 2_000_000, lambda e: e.get("type") in provider.history_event_types)
    assert seen == 5000                                     # each event once, the repeated one too
    assert len(kept) == 500 and {e["type"] for e in kept} == {"customer.subscription.updated"}
    assert [e["id"] for e in kept if e["id"] == "evt_0_0"] == ["evt_0_0"]
    assert kept[0]["created"] == 1_999_951                    # oldest first; the first copy of a repeat kept
    # when a page is asked for, only the page before it (101 events) and the kept tenth of the
    # ones before that are still alive (all 4,900 earlier events, had the scan filtered at its end)
    assert max(provider.alive_at_each_page) <= 101 + 48 * 10
