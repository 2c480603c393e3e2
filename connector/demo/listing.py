"""Stripe's list semantics over pre-serialised objects.

A ``StreamIndex`` keeps every live object of one stream as compact JSON bytes and
an ascending list of ``(created, id)`` keys. Lists are served newest first
(created desc, then id desc), so a page is a reversed slice found with bisect:

* ``starting_after=X``: the ``limit`` objects just older than X;
* ``ending_before=X``: the ``limit`` objects just newer than X (still newest first);
* ``created[gt|gte|lt|lte]`` / ``created=<int>`` narrow the slice before paging;
* a cursor that is not in the stream raises ``MissingCursor`` (Stripe's 400
  ``resource_missing``); a cursor outside the created range gives an empty page.

Filters on other fields (``status``, ``customer``, ``types[]``, ...) test each
candidate's small ``attributes`` record, so filtered pages cost what they skip.
Nested lists (invoice lines, subscription items) are ``PositionalList``s: served
in their own order, cursors by position, as Stripe serves them.
"""

from __future__ import annotations

import json
import zlib
from bisect import bisect_left, insort
from collections.abc import Callable


def dumps(obj) -> bytes:
    """Compact JSON, without the private ``_tiers`` the catalog keeps for expansions."""
    if "_tiers" in obj:
        obj = {k: v for k, v in obj.items() if not k.startswith("_")}
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class MissingCursor(LookupError):
    """The starting_after / ending_before id is not an object of this list."""


class StreamIndex:
    def __init__(self):
        self.keys: list[tuple[int, str]] = []
        self.payload: dict[str, bytes] = {}
        self.created: dict[str, int] = {}
        self.attributes: dict[str, tuple] = {}  # filterable fields, in FILTER_FIELDS order

    def __len__(self) -> int:
        return len(self.keys)

    def bulk_load(self, entries: list[tuple[int, str, bytes, tuple]]) -> None:
        for created, object_id, payload, attributes in entries:
            self.payload[object_id] = payload
            self.created[object_id] = created
            self.attributes[object_id] = attributes
        self.keys = sorted((created, object_id) for object_id, created in self.created.items())

    def put(self, created: int, object_id: str, payload: bytes, attributes: tuple = ()) -> None:
        if object_id not in self.created:
            insort(self.keys, (created, object_id))
        self.payload[object_id] = payload
        self.created[object_id] = created
        self.attributes[object_id] = attributes

    def remove(self, object_id: str) -> None:
        created = self.created.pop(object_id)
        del self.keys[bisect_left(self.keys, (created, object_id))]
        self.payload.pop(object_id)
        self.attributes.pop(object_id)

    def _bounds(self, created_filter: dict) -> tuple[int, int]:
        low, high = 0, len(self.keys)
        for operator, value in created_filter.items():
            value = int(value)
            if operator in ("gte", "eq"):
                low = max(low, bisect_left(self.keys, (value, "")))
            if operator == "gt":
                low = max(low, bisect_left(self.keys, (value + 1, "")))
            if operator in ("lte", "eq"):
                high = min(high, bisect_left(self.keys, (value + 1, "")))
            if operator == "lt":
                high = min(high, bisect_left(self.keys, (value, "")))
        return low, max(low, high)

    def _position(self, object_id: str) -> int:
        if object_id not in self.created:
            raise MissingCursor(object_id)
        return bisect_left(self.keys, (self.created[object_id], object_id))

    def page(
        self,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        created_filter: dict | None = None,
        matches: Callable[[tuple], bool] | None = None,
    ) -> tuple[list[bytes], bool]:
        """One page, newest first, and whether more objects lie beyond it."""
        low, high = self._bounds(created_filter or {})
        if ending_before is not None:
            start = max(low, self._position(ending_before) + 1)
            picked = []
            index = start
            while index < high and len(picked) <= limit:
                object_id = self.keys[index][1]
                if matches is None or matches(self.attributes[object_id]):
                    picked.append(object_id)
                index += 1
            has_more = len(picked) > limit
            return [self.payload[i] for i in reversed(picked[:limit])], has_more
        if starting_after is not None:
            high = min(high, self._position(starting_after))
        picked = []
        index = high - 1
        while index >= low and len(picked) <= limit:
            object_id = self.keys[index][1]
            if matches is None or matches(self.attributes[object_id]):
                picked.append(object_id)
            index -= 1
        return [self.payload[i] for i in picked[:limit]], len(picked) > limit

    def ids_newest_first(self) -> list[str]:
        return [object_id for _, object_id in reversed(self.keys)]


class PositionalList:
    """A nested list in its own order (invoice lines, subscription items).

    Invoice lines are the biggest part of a large account, so a list is kept as one
    zlib blob of its newline-joined payloads (compact JSON never holds a raw newline):
    about a third of the memory, for ~10 µs to unpack when served. An entry's id is
    read from its payload, which always starts with ``{"id":"``.
    """

    __slots__ = ("_blob", "count")

    def __init__(self, payloads: list[bytes]):
        self._blob = zlib.compress(b"\n".join(payloads), 1)
        self.count = len(payloads)

    @property
    def payloads(self) -> list[bytes]:
        return zlib.decompress(self._blob).split(b"\n") if self.count else []

    @property
    def ids(self) -> list[str]:
        return [payload_id(p) for p in self.payloads]

    @staticmethod
    def _index_of(payloads: list[bytes], object_id: str) -> int:
        prefix = b'{"id":"' + object_id.encode() + b'"'
        for index, payload in enumerate(payloads):
            if payload.startswith(prefix):
                return index
        raise MissingCursor(object_id)

    def page(self, limit: int, starting_after: str | None = None,
             ending_before: str | None = None) -> tuple[list[bytes], bool]:
        payloads = self.payloads
        if ending_before is not None:
            end = self._index_of(payloads, ending_before)
            start = max(0, end - limit)
            return payloads[start:end], start > 0
        start = self._index_of(payloads, starting_after) + 1 if starting_after is not None else 0
        return payloads[start:start + limit], start + limit < len(payloads)


def payload_id(payload: bytes) -> str:
    return payload[7:payload.index(b'"', 7)].decode()


def list_body(payloads: list[bytes], has_more: bool, url: str) -> bytes:
    return b"".join([
        b'{"object":"list","data":[', b",".join(payloads), b'],"has_more":',
        b"true" if has_more else b"false", b',"url":', json.dumps(url).encode(), b"}",
    ])
