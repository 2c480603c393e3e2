"""`created`-range slices of one stream, and how they split where data is dense.

A full read of a stream starts as one open slice ``[None, None)``. Stripe lists
newest first, so every page tells us how much time 100 objects span. The open
slice (the "frontier") hands everything older than about ``reach`` pages'
worth of time to a new open slice and keeps the part it has started; a bounded
slice whose remaining range still looks much bigger than that splits in two. So
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

from dataclasses import asdict, dataclass, replace
from typing import Any

PAGES_PER_SLICE = 8
FAR_REACH = 32   # see above


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
    current: Slice, objects: list[dict[str, Any]], has_more: bool, splittable: bool, idle: bool = False,
    next_token: str | None = None, reach: int = PAGES_PER_SLICE,
) -> tuple[Slice | None, Slice | None]:
    """The slice's next state after a page, and a new slice split off it (if any).

    Returns ``(None, None)`` when the slice is finished. ``splittable`` is False
    when the server lists oldest first (localstripe) or the stream has no
    `created` filter; then the slice just follows its cursor. ``idle`` says the
    pipeline has unused workers: a bounded slice then splits as soon as its
    remainder looks like more than two pages, otherwise once it looks like more
    than ``2 * reach`` pages; the open slice keeps ``reach`` pages' worth of time
    and hands the rest on. ``next_token`` is the provider's token for the next
    page (default: the last object's id).
    """
    if not has_more:
        return None, None
    last = objects[-1]
    nxt = replace(current, after=next_token or last["id"], after_created=last.get("created"))
    if not splittable:
        return nxt, None
    first_created = objects[0].get("created")
    last_created = last.get("created")
    if not isinstance(first_created, int) or not isinstance(last_created, int) or first_created < last_created:
        return nxt, None
    if first_created == last_created:
        # A page of one second (a burst: an invoice's hundred items) tells nothing of how dense the
        # rest is; its span would read as one second a page, splitting the rest into empty slices.
        return nxt, None
    span = first_created - last_created  # seconds one page covers here
    if nxt.gte is None:
        boundary = last_created - span * reach
        if boundary >= last_created:
            return nxt, None
        nxt.gte = boundary
        return nxt, Slice(None, boundary, partition=current.partition)
    remaining_pages = (last_created - nxt.gte) / span
    if remaining_pages > (2 if idle else 2 * reach):
        middle = nxt.gte + (last_created - nxt.gte) // 2
        if nxt.gte < middle < last_created:
            lower = Slice(nxt.gte, middle, partition=current.partition)
            nxt.gte = middle
            return nxt, lower
    return nxt, None


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
