"""Page shapes for a provider-neutral sync: opaque page tokens instead of Stripe cursors.

``providers/base.py`` still speaks Stripe's paging (``starting_after``,
``created`` slices, ``has_more``). These are the shapes the Chargebee adapter
returns and the ones proposed for base.py (see ``providers/chargebee.py``'s
docstring): a page says where the next one starts with a token the sync stores
verbatim and hands back, and means nothing to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
