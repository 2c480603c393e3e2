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
from dataclasses import dataclass
from datetime import date, timedelta

from .model import Segment

# Sorts after every real day: the "end" of an open-ended segment.
_OPEN_END = date.max


@dataclass(frozen=True)
class Run:
    """``[start, end)`` with constant MRR; ``end`` None = still running."""

    start: date
    end: date | None
    mrr_minor: int


@dataclass(frozen=True)
class ChangePoint:
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
    delta: dict[date, int] = defaultdict(int)
    started: dict[date, list[Segment]] = defaultdict(list)
    ended: dict[date, list[Segment]] = defaultdict(list)
    for segment in segments:
        end = segment.end or _OPEN_END
        if end <= segment.start:
            continue
        delta[segment.start] += segment.mrr_minor
        started[segment.start].append(segment)
        if segment.end is not None:
            delta[segment.end] -= segment.mrr_minor
            ended[segment.end].append(segment)
    points: list[ChangePoint] = []
    level = 0
    for day in sorted(delta.keys() | ended.keys()):
        change = delta[day]
        if change == 0:
            continue
        points.append(
            ChangePoint(day, level, level + change, tuple(started.get(day, ())), tuple(ended.get(day, ())))
        )
        level += change
    return points


def runs_from_points(points: Sequence[ChangePoint]) -> list[Run]:
    """The non-zero runs between change points (zero-MRR gaps are not stored)."""
    runs: list[Run] = []
    for index, point in enumerate(points):
        if point.after_minor == 0:
            continue
        end = points[index + 1].day if index + 1 < len(points) else None
        runs.append(Run(point.day, end, point.after_minor))
    return runs


def mrr_on(runs: Sequence[Run], day: date) -> int:
    for run in runs:
        if run.start <= day and (run.end is None or day < run.end):
            return run.mrr_minor
    return 0


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def last_day_of_month(year: int, month: int) -> date:
    ny, nm = next_month(year, month)
    return date(ny, nm, 1) - timedelta(days=1)


def month_end_values(runs: Sequence[Run], horizon: date) -> list[tuple[int, int, int]]:
    """``(year, month, mrr_on_last_day)`` from the first run's month to ``horizon``'s month.

    Months are walked with one pointer over the runs, so a customer costs
    O(months + runs), not O(days).
    """
    if not runs:
        return []
    year, month = runs[0].start.year, runs[0].start.month
    values: list[tuple[int, int, int]] = []
    index = 0
    last_key = (horizon.year, horizon.month)
    while (year, month) <= last_key:
        day = last_day_of_month(year, month)
        while index < len(runs) and runs[index].end is not None and runs[index].end <= day:
            index += 1
        if index == len(runs):
            # Past the last run: every later month is 0; the caller needs the
            # first zero month (the churn month) only.
            values.append((year, month, 0))
            break
        run = runs[index]
        values.append((year, month, run.mrr_minor if run.start <= day else 0))
        year, month = next_month(year, month)
    return values
