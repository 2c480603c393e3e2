"""Movements: why a customer's MRR changed, per day and per month.

Kinds: ``new`` (first MRR ever), ``expansion``, ``contraction``, ``churn`` (MRR
goes to 0), ``reactivation`` (MRR again after a churn). Each movement's amount
is ``after − before``, so a customer's movements over any period add up to the
change in their MRR over that period, to the minor unit.

Two policy rules act here (see docs/metrics.md):

* ``reactivation_min_gap_days``: a drop to 0 followed by MRR again within fewer
  days is not a churn; it is booked as a contraction and the return as an
  expansion (0 = every gap is a churn and a reactivation).
* ``same_month_new_churn_ignored``: a customer who is new and churns within
  the same calendar month has not "had MRR" for classification, so their next
  start is ``new`` again rather than a reactivation.

Monthly movements compare month-end figures; a drop to 0 is booked in the month
whose end first shows 0 — the month after the last month with MRR.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import NamedTuple

from .ledger import ChangePoint, Run, new_record, month_end_values

NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION, FX = (
    "new", "expansion", "contraction", "churn", "reactivation", "fx",
)
MOVEMENT_KINDS = (NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION)

# Causes a segment builder may set on Segment.cause that we pass through as-is.
_KNOWN_CAUSES = {
    "plan_change", "quantity", "discount_start", "discount_end", "add_on",
    "cancellation", "trial_conversion", "reactivation", "new_subscription", "price_change",
}


class DayMovement(NamedTuple):
    day: date
    kind: str
    amount_minor: int
    before_minor: int
    after_minor: int
    cause: str
    source_ids: tuple[str, ...]


class MonthFigure(NamedTuple):
    """One customer-month: month-end MRR, previous month-end MRR and the movement."""

    month: str                 # YYYY-MM
    mrr_minor: int
    start_mrr_minor: int       # the previous month's figure
    movement: str              # one of MOVEMENT_KINDS or "" (no change)
    movement_minor: int
    cause: str
    source_ids: tuple[str, ...]


def classify_days(points: Sequence[ChangePoint], min_gap_days: int, same_month_new_churn_ignored: bool) -> list[DayMovement]:
    movements: list[DayMovement] = []
    had_mrr = False
    last_drop: date | None = None
    life_started: date | None = None
    for index, point in enumerate(points):
        before, after = point.before_minor, point.after_minor
        if before <= 0 < after:
            if not had_mrr:
                kind = NEW
            elif last_drop is not None and 0 < min_gap_days and (point.day - last_drop).days < min_gap_days:
                kind = EXPANSION
            else:
                kind = REACTIVATION
            if kind != EXPANSION:
                life_started = point.day
            had_mrr = True
        elif after <= 0 < before:
            following = points[index + 1] if index + 1 < len(points) else None
            short_gap = (
                following is not None and 0 < min_gap_days and (following.day - point.day).days < min_gap_days
            )
            kind = CONTRACTION if short_gap else CHURN
            last_drop = point.day
            if (
                kind == CHURN
                and same_month_new_churn_ignored
                and life_started is not None
                and movements_first_life(movements)
                and (life_started.year, life_started.month) == (point.day.year, point.day.month)
            ):
                had_mrr = False
        else:
            kind = EXPANSION if after > before else CONTRACTION
        movements.append(
            new_record(DayMovement, (point.day, kind, after - before, before, after, cause_of(point, kind),
                                      _source_ids(point)))
        )
    return movements


def movements_first_life(movements: Sequence[DayMovement]) -> bool:
    """True while the customer has never churned nor reactivated (their first stretch of MRR)."""
    return not any(m.kind in (CHURN, REACTIVATION) for m in movements)


def classify_months(runs: Sequence[Run], day_movements: Sequence[DayMovement], horizon: date) -> list[MonthFigure]:
    """One figure per month from the first month-end with MRR to the churn month.

    Months with 0 at both ends (gaps between a churn and a reactivation) are
    left out; a month whose end is 0 after a month with MRR carries the churn.
    """
    figures: list[MonthFigure] = []
    previous = 0
    cursor = 0
    count = len(day_movements)
    life_start: DayMovement | None = None     # the new/reactivation that began the current stretch
    for label, month_end, value in month_end_values(runs, horizon):
        first = cursor
        while cursor < count and day_movements[cursor].day <= month_end:
            if day_movements[cursor].kind in (NEW, REACTIVATION):
                life_start = day_movements[cursor]
            cursor += 1
        if value == previous:
            if value != 0:
                figures.append(new_record(MonthFigure, (label, value, previous, "", 0, "", ())))
            continue
        in_month = day_movements[first:cursor]
        kind = _month_kind(previous, value, in_month)
        if len(in_month) == 1:  # the common case: its cause and sources as they are, without sets
            cause, sources = in_month[0].cause, in_month[0].source_ids
        else:
            cause = ",".join(sorted({c for m in in_month for c in m.cause.split(",") if c}))
            sources = tuple(sorted({s for m in in_month for s in m.source_ids}))
        short_gap_return = bool(figures) and figures[-1].movement == CONTRACTION and figures[-1].mrr_minor <= 0
        if kind == EXPANSION and previous <= 0 and not short_gap_return and life_start is not None:
            # MRR first shows at a month end after a short-gap return within the
            # stretch: the month books the stretch's start (new or reactivation)
            kind, cause, sources = life_start.kind, life_start.cause, tuple(sorted({*sources, *life_start.source_ids}))
        figures.append(new_record(MonthFigure, (label, value, previous, kind, value - previous, cause, sources)))
        previous = value
    return figures


def _month_kind(previous: int, value: int, in_month: Sequence[DayMovement]) -> str:
    if previous <= 0 < value:
        # the start that brought MRR back decides: new, reactivation, or a short-gap expansion
        starts = [m for m in in_month if m.before_minor <= 0 < m.after_minor]
        return starts[-1].kind if starts else NEW
    if value <= 0 < previous:
        drops = [m for m in in_month if m.after_minor <= 0 < m.before_minor]
        return drops[-1].kind if drops else CHURN
    if value > previous:
        return EXPANSION
    if value < previous:
        return CONTRACTION
    return ""


def cause_of(point: ChangePoint, kind: str) -> str:
    """Why MRR changed on this day, from the segments that start and end on it."""
    if kind == CHURN:
        return "cancellation"
    if kind == REACTIVATION:
        return "reactivation"
    if len(point.started) == 1:  # the common case, without a set
        only = point.started[0].cause
        given: Collection[str] = (only,) if only in _KNOWN_CAUSES else ()
    else:
        given = {s.cause for s in point.started if s.cause in _KNOWN_CAUSES}
    if kind == NEW:
        return "trial_conversion" if "trial_conversion" in given else "new_subscription"
    if len(point.started) == 1 and len(point.ended) == 1 and not given:
        quick = _one_for_another(point.started[0], point.ended[0])
        if quick is not None:
            return quick
    causes: set[str] = set(given)
    for segment in (*point.started, *point.ended):
        if segment.source_type == "discount":
            causes.add("discount_start" if segment in point.started else "discount_end")
    # Per slot (subscription item): what was billed before the day and what after. A negative
    # proration piece is the credit for the old price, so it counts as "before".
    before: dict[str, list] = {}
    after: dict[str, list] = {}
    for segment in point.ended:
        if segment.source_type != "discount":
            before.setdefault(_slot(segment), []).append(segment)
    for segment in point.started:
        if segment.source_type == "discount" or (segment.cause in _KNOWN_CAUSES and segment.cause != "trial_conversion"):
            continue
        credit = "proration" in (segment.detail.get("tags") or ()) and segment.mrr_minor < 0
        (before if credit else after).setdefault(_slot(segment), []).append(segment)
    subscriptions_before = {s.subscription_id for pieces in before.values() for s in pieces}
    subscriptions_after = {s.subscription_id for pieces in after.values() for s in pieces}
    added = removed = False
    for slot in sorted(set(before) | set(after)):
        old, new = before.get(slot, []), after.get(slot, [])
        if old and new:
            same_price = {_price(s) for s in old} == {_price(s) for s in new}
            same_quantity = {s.detail.get("quantity") for s in old} == {s.detail.get("quantity") for s in new}
            same_amount = sum(s.mrr_minor for s in old) == sum(s.mrr_minor for s in new)
            if not (same_price and same_quantity and same_amount):   # else a renewal of the same thing
                causes.add("quantity" if same_price else "plan_change")
        elif new:
            if new[0].subscription_id is not None and new[0].subscription_id in subscriptions_before:
                causes.add("plan_change")    # an item replaced by another in the same subscription
            else:
                added = True
        elif old[0].subscription_id is None or old[0].subscription_id not in subscriptions_after:
            removed = True
    if added and removed:
        # one subscription replaced by another on the same day: a plan change for the customer
        causes.add("plan_change")
    elif added:
        causes.add("add_on")
    elif removed:
        causes.add("cancellation")
    return ",".join(sorted(causes))


def _one_for_another(new, old) -> str | None:
    """The cause when one plain piece replaces another (most change points: a renewal, a plan or
    quantity change) — what the general rule below gives for it, without its sets; None when
    either is a discount or the new one is a proration credit (the general rule decides those).

    Different slots always give "plan_change" there: the new slot is an item replaced within its
    subscription or an added one, and the old slot is then removed from another subscription.
    """
    if new.source_type == "discount" or old.source_type == "discount" or (
            new.mrr_minor < 0 and "proration" in (new.detail.get("tags") or ())):
        return None
    if _slot(new) != _slot(old):
        return "plan_change"
    if _price(new) != _price(old):
        return "plan_change"
    if new.detail.get("quantity") != old.detail.get("quantity") or new.mrr_minor != old.mrr_minor:
        return "quantity"
    return ""


def _slot(segment) -> str:
    return str(segment.detail.get("slot") or segment.source_id)


def _price(segment) -> str | None:
    return segment.detail.get("price")


def _source_ids(point: ChangePoint) -> tuple[str, ...]:
    started, ended = point.started, point.ended
    if len(started) + len(ended) == 1:
        only = (started or ended)[0].source_id
        return (only,) if only else ()
    if len(started) == 1 and len(ended) == 1:  # one piece for another, the commonest change
        new, old = started[0].source_id, ended[0].source_id
        if new and old:
            return (new,) if new == old else (new, old) if new < old else (old, new)
    return tuple(sorted({s.source_id for s in (*point.started, *point.ended) if s.source_id}))


__all__ = [
    "DayMovement", "MonthFigure", "classify_days", "classify_months", "cause_of", "MOVEMENT_KINDS",
    "NEW", "EXPANSION", "CONTRACTION", "CHURN", "REACTIVATION", "FX",
]
