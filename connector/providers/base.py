"""What any billing provider must offer the sync.

A provider turns its API into plain dicts, page by page, for the streams it
declares. The sync owns ordering, concurrency, checkpoints and the store; the
provider owns HTTP, the classification of failures (``http.Retryable`` or a
final ``ConnectorError``) and the shape of its objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import PaginationError
from ..store import AccountIdentity


class CursorGone(Exception):
    """The object a `starting_after` cursor names no longer exists (deleted while paging)."""


class FilterIgnored(PaginationError):
    """A list answered with objects outside the `created` range asked for: the server ignores the filter.

    The full read then re-reads the stream by cursor only, once (no range
    filters sent, so this cannot recur); anywhere else it is a final error.
    """


@dataclass(frozen=True)
class StreamDef:
    """A top-level list the provider can page through.

    ``children`` maps a child table to the field embedding it in the parent
    (``items`` in subscriptions, ``lines`` in invoices); the provider completes
    truncated embedded lists before it hands a page over.
    """

    name: str
    path: str
    list_params: Mapping[str, Any] = field(default_factory=dict)
    sliceable: bool = True             # supports created[gte]/created[lt]
    children: Mapping[str, str] = field(default_factory=dict)
    event_prefixes: tuple[str, ...] = ()  # event types that change this stream's objects
    # Also listed once per test clock (test mode): the plain list leaves their objects out.
    by_test_clock: bool = False


@dataclass
class Page:
    objects: list[dict[str, Any]]
    has_more: bool
    # child table -> list of (parent id, complete list of children)
    children: dict[str, list[tuple[str, list[dict[str, Any]]]]] = field(default_factory=dict)
    requests: int = 1  # HTTP requests this page took, nested follow-ups included


@dataclass
class EventPage:
    events: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None = None  # where the next page starts (None: the last event's id)
    # events the server listed outside the created window asked for, left out of ``events``:
    # more than 0 means it ignores the window (the events pass then reads it once, whole)
    outside_window: int = 0


class Provider(Protocol):
    name: str
    streams: Mapping[str, StreamDef]

    def identify(self) -> AccountIdentity:
        """One cheap call: which account and mode the key belongs to."""

    def list_page(
        self, stream: str, *, starting_after: str | None, created_gte: int | None, created_lt: int | None,
        test_clock: str | None = None,
    ) -> Page:
        """One page of a stream, newest first, embedded child lists completed (one test clock's objects
        when ``test_clock`` is given)."""

    def test_clocks(self) -> list[str]:
        """Ids of the account's test clocks (none in live mode)."""

    def fetch_object(self, stream: str, object_id: str) -> dict[str, Any] | None:
        """The current object from its detail endpoint; None if it is gone or deleted."""

    def events_page(self, *, types: list[str], created_gt: int, created_lte: int, starting_after: str | None) -> EventPage:
        """One page of change events in a time window, newest first."""

    def check_stream_access(self, stream: str) -> str | None:
        """None if the key may read the stream, else a one-line reason."""
