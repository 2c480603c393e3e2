"""Which raw rows this process wrote from objects it had value-checked on the way in.

The sync checks every object before it stores it (``values``, on the scan of
the text it writes), and the mapping that follows in the same process parses
every stored object again. Checking it again there is only needed for rows
something else wrote: an older version, another process, a hand-edited file.
So the sync's writer notes the change sequence numbers it stamped on checked
rows (:meth:`CheckedSeqs.writing`), and the mapping checks again only the rows
whose ``_seq`` it did not note.

Kept in memory, never in the file: a store opened anew (``mrr rebuild``,
``backfill``, another process) trusts nothing and checks every row. A row soft-deleted
later in the same span keeps the text it had: only live rows are taken as checked
(``_deleted = 0``, the caller's part). Writes that raise note nothing; a
transaction rolled back after its numbers were noted ends the sync with the
exception that rolled it back (``Pipeline.run`` re-raises it), so no mapping in
that process reads them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager


class CheckedSeqs:
    """Spans of ``_seq`` numbers, each stamped only on raw rows made from value-checked objects."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, first: int, last: int) -> None:
        """Note ``first..last`` (inclusive; nothing when ``last < first``)."""
        if last < first:
            return
        if self._ends and self._starts[-1] <= first <= self._ends[-1] + 1:
            self._ends[-1] = max(self._ends[-1], last)   # the usual case: the next page's numbers
            return
        spans = sorted([*zip(self._starts, self._ends), (first, last)])
        self._starts, self._ends = [], []
        for start, end in spans:
            if self._ends and start <= self._ends[-1] + 1:
                self._ends[-1] = max(self._ends[-1], end)
            else:
                self._starts.append(start)
                self._ends.append(end)

    def __contains__(self, seq: object) -> bool:
        if not isinstance(seq, int) or not self._starts:
            return False
        at = bisect_right(self._starts, seq) - 1
        return at >= 0 and seq <= self._ends[at]

    def __bool__(self) -> bool:
        return bool(self._starts)

    def spans(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends))

    @contextmanager
    def writing(self, store) -> Iterator[None]:
        """Around writes whose every raw row upserted is made from an object that passed
        the value checks on the very text written (``sync/pages.py``) (soft deletes and other tables may
        come along: their rows are not live raw rows). Notes the numbers they took."""
        first = store.current_seq() + 1
        yield
        self.add(first, store.current_seq())
