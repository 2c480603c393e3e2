"""What any billing provider must offer the sync, and what the sync knows of a stream.

A provider turns its API into plain dicts, page by page, for the streams its
catalog declares (``providers/<name>_catalog.py``: pure data, one entry per
stream). The sync owns ordering, concurrency, checkpoints and the store; the
provider owns HTTP, the classification of failures (``http.Retryable`` or a
final ``ConnectorError``) and the shape of its objects.

Pages are addressed by an **opaque token**: the sync stores it verbatim with
the page it follows and hands it back, and never looks inside (Stripe's is the
last object's id, Chargebee's its ``next_offset``). A stream is brought up to
date either through change events and ``fetch_object`` (``incremental =
"events"``) or by listing what was updated since a cursor (``incremental =
"updated_since"``), as its catalog entry says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..errors import PaginationError
from ..store import AccountIdentity

# How a stream is kept up to date after its first full read.
INCREMENTAL_BY_EVENTS = "events"                # change events name objects; each is re-fetched
INCREMENTAL_BY_UPDATED_SINCE = "updated_since"  # the list is re-read with an updated-since filter
INCREMENTAL_BY_FULL_READ = "full_read"          # no such filter: the list is re-read whole every run


class CursorGone(Exception):
    """The object a page token names no longer exists (deleted while paging)."""


class FilterIgnored(PaginationError):
    """A list answered with objects outside the creation range asked for: the server ignores the filter.

    The full read then re-reads the stream by token only, once (no range
    filters sent, so this cannot recur); anywhere else it is a final error.
    """


@dataclass(frozen=True)
class Child:
    """A list embedded in each object of a stream, kept in a raw table of its own.

    ``field`` embeds it in the parent; ``parent_column`` is the child table's
    column naming the parent (filled in by the sync when the provider leaves
    it out). The provider completes a truncated embedded list before a page is
    handed over.
    """

    table: str
    field: str
    parent_column: str


class StreamSpec(Protocol):
    """What the sync reads of a catalog entry (each provider's entry carries more: paths, params)."""

    name: str
    permission: str            # the API permission its reads need, quoted in a refusal

    @property
    def child_lists(self) -> tuple[Child, ...]: ...

    @property
    def incremental(self) -> str: ...            # INCREMENTAL_BY_EVENTS or INCREMENTAL_BY_UPDATED_SINCE

    @property
    def sliceable(self) -> bool: ...             # the list takes creation ranges (slices in flight)

    @property
    def partitioned(self) -> bool: ...           # also listed once per partition (see Provider.partitions)

    @property
    def creation_field(self) -> str | None: ...  # the object's immutable creation instant

    @property
    def update_field(self) -> str | None: ...    # the object's last-update instant (updated_since streams)

    @property
    def tombstone_field(self) -> str | None: ...  # a true value marks a deleted record listed as such

    @property
    def optional(self) -> bool: ...   # read when the key may; a refusal is a warning (nothing depends on it)

    @property
    def first_read_window_seconds(self) -> int | None: ...  # a first read covers only this much before
    # the newest record, never deletes what it does not list: a log of which only the recent part is
    # wanted (Chargebee's events). None: a first read lists everything. A provider with such a stream
    # has ``latest_time(stream) -> int | None`` (the newest record's update_field; None when empty).

    @property
    def known_values(self) -> Mapping[str, frozenset[str]]: ...  # enum field -> values the MRR rules know


@dataclass
class Page:
    objects: list[dict[str, Any]]
    next_token: str | None                  # where the next page starts; None: the read is complete
    # child table -> list of (parent id, complete list of children)
    children: dict[str, list[tuple[str, list[dict[str, Any]]]]] = field(default_factory=dict)
    requests: int = 1  # HTTP requests this page took, nested follow-ups included
    # child table -> parent ids whose list was left to ``read_children`` (``list_page(defer_children=True)``,
    # offered by providers that have a ``read_children``: Stripe)
    deferred: dict[str, list[str]] = field(default_factory=dict)

    @property
    def has_more(self) -> bool:
        return self.next_token is not None


@dataclass
class EventPage:
    events: list[dict[str, Any]]
    next_token: str | None                  # None: the window is read
    # events the server listed outside the window asked for, left out of ``events``:
    # more than 0 means it ignores the window (the events pass then reads it once, whole)
    outside_window: int = 0

    @property
    def has_more(self) -> bool:
        return self.next_token is not None


@runtime_checkable
class Provider(Protocol):
    name: str            # recorded in the store: one provider account per file
    label: str           # how messages name it ("Stripe", "Chargebee")

    @property
    def streams(self) -> Mapping[str, StreamSpec]: ...

    def identify(self) -> AccountIdentity:
        """One cheap call: which account and mode the key belongs to."""

    def list_page(
        self, stream: str, *, page_token: str | None, updated_since: int | None = None,
        created_gte: int | None = None, created_lt: int | None = None, partition: str | None = None,
    ) -> Page:
        """One page of a stream, embedded child lists completed.

        ``updated_since`` None is a full read; a token is valid only with the
        filters it was issued under, so the sync checkpoints them together.
        ``created_*`` only for ``sliceable`` streams, ``partition`` only for
        ``partitioned`` ones.
        """

    def partitions(self, stream: str) -> list[str]:
        """Listings a partitioned stream needs besides the plain one (Stripe: its test clocks)."""

    def fetch_object(self, stream: str, object_id: str) -> dict[str, Any] | None:
        """The current object from its detail endpoint; None if it is gone or deleted."""

    def fetch_children(self, stream: str, parent: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Complete child lists of a re-fetched parent, by child table."""

    def events_page(self, *, types: list[str], occurred_after: int, occurred_until: int,
                    page_token: str | None) -> EventPage:
        """One page of change events in the window (occurred_after, occurred_until]."""

    def changed_objects(self, event: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(stream, object id) pairs an event says changed, by the catalog's routes."""

    def event_time(self, event: Mapping[str, Any]) -> int:
        """When an event happened (epoch seconds); 0 when it carries no usable time."""

    def check_stream_access(self, stream: str) -> str | None:
        """None if the key may read the stream, else a one-line reason."""

    def close(self) -> None:
        """Release what the provider holds (threads, connections) at the end of a run."""


def child_streams(streams: Mapping[str, StreamSpec]) -> dict[str, str]:
    """Child table -> the stream that carries it."""
    return {child.table: spec.name for spec in streams.values() for child in spec.child_lists}
