"""Page shapes for a provider-neutral sync: opaque page tokens instead of Stripe cursors.

``providers/base.py`` still speaks Stripe's paging (``starting_after``,
``created`` slices, ``has_more``). These are the shapes the Chargebee adapter
returns and the ones proposed for base.py (see ``providers/chargebee.py``'s
docstring): a page says where the next one starts with a token the sync stores
verbatim and hands back, and means nothing to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..store import AccountIdentity


@dataclass
class TokenPage:
    objects: list[dict[str, Any]]
    next_token: str | None               # None: the read is complete
    # child table -> list of (parent id, complete list of children)
    children: dict[str, list[tuple[str, list[dict[str, Any]]]]] = field(default_factory=dict)
    requests: int = 1                     # HTTP requests this page took, completions included

    @property
    def has_more(self) -> bool:
        return self.next_token is not None


@dataclass
class TokenEventPage:
    events: list[dict[str, Any]]
    next_token: str | None


@runtime_checkable
class TokenProvider(Protocol):
    """The provider interface proposed for ``providers/base.py`` (Chargebee implements it today).

    ``streams`` is the provider's catalog: pure data per stream (endpoint,
    immutable sort key, whether ``updated_since`` is honoured, children and
    how they are completed, the event types that touch it, the permission).
    A stream without an updated filter is re-read in full, or followed through
    events and ``fetch_object`` (Stripe's path), as its catalog entry says.
    """

    name: str

    @property
    def streams(self) -> Mapping[str, Any]: ...

    def identify(self) -> AccountIdentity: ...

    def list_page(self, stream: str, *, page_token: str | None, updated_since: int | None) -> TokenPage: ...

    def fetch_object(self, stream: str, object_id: str) -> dict[str, Any] | None: ...

    def events_page(self, *, types: list[str], occurred_after: int, occurred_before: int,
                    page_token: str | None) -> TokenEventPage: ...

    def check_stream_access(self, stream: str) -> str | None: ...
