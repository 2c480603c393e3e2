"""The ledger: a customer's MRR per day, stored run-length, and per month.

From a customer's :class:`~connector.mrr.model.Segment` list (one currency at a
time) the ledger keeps only the change points: ``[start, end)`` runs with a
constant MRR, never one row per day. The month's figure is the MRR on the
month's last day. Everything is an exact sum of the segments' integers, so no
rounding happens here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from operator import itemgetter
from typing import NamedTuple

from .model import Segment

_DAY = itemgetter(0)  # an event's day (C, not a Python function per comparison key)

# Sorts after every real day: the "end" of an open-ended segment.
_OPEN_END = date.max

# ``new_record(Run, (start, end, mrr))`` is ``Run(start, end, mrr)`` without the Python-level
# ``__new__`` a NamedTuple call goes through: a rebuild of 100,000 customers makes ~10 million of
# these records (runs, change points, day movements, months), and that frame was a sixth of it.
new_record = tuple.__new__


class Run(NamedTuple):
    """``[start, end)`` with constant MRR; ``end`` None = still running."""

    start: date
    end: date | None
    mrr_minor: int


class ChangePoint(NamedTuple):
    """The day a customer's MRR changes, with the segments that start and end on it."""

    day: date
    before_minor: int
    after_minor: int
    started: tuple[Segment, ...]
    ended: tuple[Segment, ...]


def mrr_segments(segments: Iterable[Segment], include_usage: bool) -> list[Segment]:
    """The segments that count towards MRR (usage only when the policy adds it)."""
    return [s for s in segments if s.series == "mrr" or (include_usage and s.series == "usage")]


def group_by_customer_currency(segments: Iterable[Segment]) -> dict[tuple[str, str], list[Segment]]:
    grouped: dict[tuple[str, str], list[Segment]] = defaultdict(list)
    for segment in segments:
        grouped[(segment.customer_id, segment.currency.lower())].append(segment)
    return grouped


def change_points(segments: Sequence[Segment]) -> list[ChangePoint]:
    """Every day on which the summed MRR of ``segments`` changes, in order.

    Segments that start and end on the same day (empty) are ignored; days where
    segments swap without changing the total are not change points (MRR did
    not move, so there is no movement to explain).
    """
    events: list[tuple[date, int, Segment, bool]] = []
    for segment in segments:
        end = segment.end
        if end is not None and end <= segment.start:
            continue
        events.append((segment.start, segment.mrr_minor, segment, True))
        if end is not None:
            events.append((end, -segment.mrr_minor, segment, False))
    events.sort(key=_DAY)  # by day only; a day's events keep their order (the sort is stable)
    points: list[ChangePoint] = []
    level = 0
    index, count = 0, len(events)
    while index < count:
        day = events[index][0]
        change = 0
        started: list[Segment] = []
        ended: list[Segment] = []
        while index < count and events[index][0] == day:
            _, amount, segment, is_start = events[index]
            change += amount
            (started if is_start else ended).append(segment)
            index += 1
        if change:
            points.append(new_record(ChangePoint, (day, level, level + change, tuple(started), tuple(ended))))
            level += change
    return points


def runs_from_points(points: Sequence[ChangePoint]) -> list[Run]:
    """The non-zero runs between change points (zero-MRR gaps are not stored)."""
    runs: list[Run] = []
    for index, point in enumerate(points):
        if point.after_minor == 0:
            continue
        end = points[index + 1].day if index + 1 < len(points) else None
        runs.append(new_record(Run, (point.day, end, point.after_minor)))
    return runs


def mrr_on(runs: Sequence[Run], day: date) -> int:
    for run in runs:
        if run.start <= day and (run.end is None or day < run.end):
            return run.mrr_minor
    return 0


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


_MONTH_ENDS: dict[int, date] = {}
_MONTH_LABELS: dict[int, str] = {}


def last_day_of_month(year: int, month: int) -> date:
    """The month's last day (memoised: the engine asks for the same few hundred months)."""
    key = year * 12 + month - 1
    found = _MONTH_ENDS.get(key)
    if found is None:
        ny, nm = next_month(year, month)
        found = _MONTH_ENDS[key] = date(ny, nm, 1) - timedelta(days=1)
        _MONTH_LABELS[key] = f"{year:04d}-{month:02d}"
    return found


def month_end_values(runs: Sequence[Run], horizon: date) -> list[tuple[str, date, int]]:
    """``(YYYY-MM, month_end, mrr_on_month_end)`` from the first run's month to ``horizon``'s month.

    ``horizon`` is the as-of day: the last month's figure is the MRR on that
    day, not on a month end still to come (a cancellation scheduled for the
    30th is not a churn on the 23rd).

    Months are walked with one pointer over the runs, so a customer costs
    O(months + runs), not O(days). The walk stops at the first month-end past
    the last run (its 0 is the churn month); later months are all 0.
    """
    if not runs:
        return []
    key = runs[0].start.year * 12 + runs[0].start.month - 1
    last_key = horizon.year * 12 + horizon.month - 1
    values: list[tuple[str, date, int]] = []
    index, count = 0, len(runs)
    while key <= last_key:
        day = _MONTH_ENDS.get(key) or last_day_of_month(key // 12, key % 12 + 1)
        if key == last_key:
            day = horizon  # the month is not over: its figure so far is the MRR on the as-of day
        while index < count and runs[index].end is not None and runs[index].end <= day:
            index += 1
        if index == count:
            values.append((_MONTH_LABELS[key], day, 0))
            break
        run = runs[index]
        values.append((_MONTH_LABELS[key], day, run.mrr_minor if run.start <= day else 0))
        key += 1
    return values
