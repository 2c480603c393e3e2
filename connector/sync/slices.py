"""`created`-range slices of one stream, and how they split where data is dense.

A full read of a stream starts as one open slice ``[None, None)``. Stripe lists
newest first, so every page tells us how much time 100 objects span. The open
slice (the "frontier") hands everything older than about ``reach`` pages'
worth of time to a new open slice and keeps the part it has started; a bounded
slice whose remaining range still looks much bigger than that splits in two (on
a slow server, into more at once, by the seconds its chain of pages would
take: ``chain_at``). So
one big stream becomes many slices in flight, dense stretches split finer, and
nearly every request returns a full page (waste: about one partial page per
slice and one empty page per stream).

How far the frontier reaches (``reach``) is the caller's choice. The short
``PAGES_PER_SLICE`` is what feeds the invoice-lines endpoint from the first
seconds in live mode (a doubling reach for every stream fed it less:
BENCHMARKS.md, sixth session). ``FAR_REACH`` is for the stream behind the
busiest list endpoint in live mode (it finds its work four times as fast:
``demand.py``) and for every stream where the account's limit binds (test
mode): there each slice's partial last page is a request taken from the one
budget all streams share, and the workers are filled by slices split when idle
anyway, so fewer, longer slices waste fewer requests.

Everything here is plain data so it can live in the sync-state JSON and be
resumed after a crash: a slice is ``{"gte", "lt", "after", "after_created",
"partition"}``. ``after`` is the provider's opaque page token; ``partition``
scopes a slice to one of the listings a partitioned stream needs besides the
plain one (Stripe's test clocks); every slice split off it keeps it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

PAGES_PER_SLICE = 8
FAR_REACH = 32   # see above
# The reaches above were tuned at 250 ms a request (BENCHMARKS.md, sixth and seventh sessions): a
# slice of 32 pages is a chain of 8 s (each page's token comes with the page before). On a slower
# server the same pages take longer: at 2 s a request 64 s, longer than the whole sync, which ended on
# a few slices' last pages, one every 2 s (600 customers, test mode: 68 % of the ideal). So a bounded
# slice splits by the seconds its chain would take (``chain``, ``chain_at``). The frontier still hands
# on ``reach`` pages at a time: that is how fast a stream's work is found (a reach per round trip).
REACH_TUNED_AT_SECONDS = 0.25
SHORTEST_CHAIN = 2


def chain_at(pages: int, latency: float | None) -> int:
    """The longest chain of pages a bounded slice keeps unsplit, for a reach of ``pages`` (tuned at
    :data:`REACH_TUNED_AT_SECONDS` a request) at ``latency`` seconds a request: as many pages as take
    the same time, never more than ``pages`` nor fewer than :data:`SHORTEST_CHAIN`."""
    if latency is None or latency <= REACH_TUNED_AT_SECONDS:
        return pages
    return max(SHORTEST_CHAIN, min(pages, int(pages * REACH_TUNED_AT_SECONDS / latency)))


@dataclass
class Slice:
    gte: int | None = None           # inclusive lower bound of `created`; None = open
    lt: int | None = None            # exclusive upper bound; None = open
    after: str | None = None         # the page token inside the slice
    after_created: int | None = None  # creation time of the object the token follows (resume if it vanishes)
    partition: str | None = None      # list only this partition's objects

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Slice:
        fields = {k: data.get(k) for k in ("gte", "lt", "after", "after_created", "partition")}
        # states written before partitions had a name of their own called them test clocks
        fields["partition"] = fields["partition"] or data.get("test_clock")
        return cls(**fields)


def advance(
    current: Slice, objects: list[dict[str, Any]], has_more: bool, splittable: bool, idle: int = 0,
    next_token: str | None = None, reach: int = PAGES_PER_SLICE, chain: int | None = None,
) -> tuple[Slice | None, list[Slice]]:
    """The slice's next state after a page, and the new slices split off it (oldest last).

    Returns ``(None, [])`` when the slice is finished. ``splittable`` is False
    when the server lists oldest first (localstripe) or the stream has no
    `created` filter; then the slice just follows its cursor. The open slice
    keeps ``reach`` pages' worth of time and hands the rest on to a new open
    slice. A bounded slice (the part kept included) whose remainder looks like
    more than ``2 * chain`` pages (``chain``: ``reach`` unless said; ``chain_at``)
    is cut: in two on a server as fast as the reaches were tuned for, in more at
    once on a slower one (``_pieces``). ``idle``: how many more slices the
    pipeline would read at once (workers to spare; ``True`` is one): then a
    bounded slice's remainder of more than two pages is cut too. ``next_token`` is the
    provider's token for the next page (default: the last object's id).
    """
    if not has_more:
        return None, []
    last = objects[-1]
    nxt = replace(current, after=next_token or last["id"], after_created=last.get("created"))
    if not splittable:
        return nxt, []
    first_created = objects[0].get("created")
    last_created = last.get("created")
    if not isinstance(first_created, int) or not isinstance(last_created, int) or first_created < last_created:
        return nxt, []
    if first_created == last_created:
        # A page of one second (a burst: an invoice's hundred items) tells nothing of how dense the
        # rest is; its span would read as one second a page, splitting the rest into empty slices.
        return nxt, []
    span = first_created - last_created  # seconds one page covers here
    handed_on = []
    if nxt.gte is None:
        boundary = last_created - span * reach
        if boundary >= last_created:
            return nxt, []
        nxt.gte = boundary
        handed_on.append(Slice(None, boundary, partition=current.partition))
    # (the part the frontier keeps is cut for idle workers from its next page on, as it always was)
    pieces = _pieces((last_created - nxt.gte) / span, reach, reach if chain is None else chain,
                     0 if handed_on else idle)
    if pieces < 2:
        return nxt, handed_on
    bounds = sorted({nxt.gte + (last_created - nxt.gte) * k // pieces for k in range(pieces)})
    lower = [Slice(gte, lt, partition=current.partition) for gte, lt in zip(bounds, bounds[1:])]
    nxt.gte = bounds[-1]
    return nxt, [*reversed(lower), *handed_on]


# At most this many pieces from one page: the pieces' first pages are requests of their own, and
# the next round trip cuts again what still looks long.
MOST_PIECES = 16


def _pieces(remaining_pages: float, reach: int, chain: int, idle: int) -> int:
    """How many pieces a bounded slice's remainder is cut into (1: none).

    In two on a server as fast as the reaches were tuned for: the next round trip cuts again what
    still looks long, each time with a better idea of how dense the rest is (a cut into many at once
    made slices of nothing between bursts of objects: seats account, 892 invoice-item requests for
    737 pages). On a server ``k`` times slower (``reach // chain``) a round trip costs ``k`` of
    those: into up to ``k + 1`` at once."""
    pieces = math.ceil(remaining_pages / (2 * chain)) if remaining_pages > 2 * chain else 1
    if idle and remaining_pages > 2:   # a piece for each idle worker, of two pages at least
        pieces = max(pieces, min(math.ceil(remaining_pages / 2), 1 + int(idle)))
    return min(pieces, 1 + max(1, reach // chain), MOST_PIECES)


def restart_without_cursor(current: Slice) -> Slice:
    """The same slice re-read from just above its cursor's time.

    Used when the cursor object vanished (deleted while we paged): Stripe then
    refuses ``starting_after``. Re-reading the objects that share the cursor's
    second is harmless: upserts are idempotent.
    """
    if current.after_created is None:
        return Slice(current.gte, current.lt, partition=current.partition)
    upper = current.after_created + 1
    if current.lt is not None:
        upper = min(upper, current.lt)
    return Slice(current.gte, upper, partition=current.partition)
