"""MRR, customers and movements per segment: by plan, product, billing interval, currency or country.

Built from the policy's effective segments (connector.mrr.segments_effective),
the pieces whose sum is each customer's MRR: a month's figure for a segment is
the sum of the pieces active on the month's figure day (its last day, or the
facts' as-of day for the month not over), grouped by the segment's value. A
discount piece belongs to the plan it discounts. So every month's segments of
one dimension add up to the month's MRR per currency.

Movements within a segment are a customer's change in that segment: moving
from plan A to plan B is a churn from A and a new (or reactivation) in B, while
the customer view (``mrr history``) has it as one expansion or contraction.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from ..errors import ConfigError
from .ledger import mrr_segments
from .model import Segment
from .movements import CHURN, CONTRACTION, EXPANSION, MOVEMENT_KINDS, NEW, REACTIVATION
from .segments_effective import effective_segments

DIMENSIONS = ("plan", "product", "interval", "currency", "country")
UNKNOWN = "(unknown)"


def check_dimension(name: str) -> str:
    if name not in DIMENSIONS:
        raise ConfigError(f"--by {name!r} is not offered; choose one of {', '.join(DIMENSIONS)}")
    return name


def month_figure_day(month: str, as_of: date | None) -> date:
    year, mon = int(month[:4]), int(month[5:7])
    last = date(year, mon, calendar.monthrange(year, mon)[1])
    return min(last, as_of) if as_of else last


def _months(first: date, last: date) -> list[str]:
    months, year, mon = [], first.year, first.month
    while (year, mon) <= (last.year, last.month):
        months.append(f"{year:04d}-{mon:02d}")
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return months


def _interval_label(interval: str | None, count: int | None) -> str:
    if not interval:
        return UNKNOWN
    return interval if (count or 1) == 1 else f"{count} {interval}s"


class _Labels:
    """The segment value of a piece, per dimension, from the neutral plans and customers."""

    def __init__(self, store, pieces: list[Segment]):
        self.plans = _lookup(store, "billing_plans", "id", ("product_id", "product_name", "nickname", "interval",
                                                            "interval_count"))
        self.countries = {k: v["country"] for k, v in
                          _lookup(store, "billing_customers", "customer_id", ("country",)).items()}
        self.price_of = {p.detail.get("segment_id"): p.detail.get("price") for p in pieces
                         if p.source_type != "discount"}

    def price(self, piece: Segment) -> str | None:
        if piece.source_type == "discount":
            return self.price_of.get(piece.detail.get("parent"))
        return piece.detail.get("price")

    def value(self, dimension: str, piece: Segment) -> str:
        if dimension == "currency":
            return piece.currency
        if dimension == "country":
            return (self.countries.get(piece.customer_id) or UNKNOWN).upper()
        price = self.price(piece)
        plan = self.plans.get(price) or {}
        if dimension == "plan":
            name = plan.get("nickname") or plan.get("product_name")
            return f"{name} ({price})" if name and price else price or UNKNOWN
        if dimension == "product":
            return plan.get("product_name") or plan.get("product_id") or UNKNOWN
        detail = piece.detail
        return _interval_label(detail.get("interval") or plan.get("interval"),
                               detail.get("interval_count") or plan.get("interval_count"))


def _lookup(store, table: str, key: str, columns: Iterable[str]) -> dict[str, dict[str, Any]]:
    if not store.db[table].exists():
        return {}
    present = set(store.db[table].columns_dict)
    wanted = [c for c in columns if c in present]
    select = ", ".join([key, *wanted]) if wanted else key
    cursor = store.db.execute(f"SELECT {select} FROM {table} WHERE _deleted = 0")
    return {row[0]: {**dict.fromkeys(columns), **dict(zip(wanted, row[1:]))} for row in cursor.fetchall()}


def policy_pieces(store, policy) -> list[Segment]:
    """The pieces that make up MRR under ``policy`` (usage only where the policy adds it)."""
    return mrr_segments(effective_segments(store, policy), policy.include_usage_in_mrr)


def segment_customer_months(store, policy, dimension: str, as_of: date | None,
                            pieces: list[Segment] | None = None) -> dict[tuple[str, str, str], dict[str, int]]:
    """{(segment value, currency, customer): {month: MRR on the month's figure day}} for every month with pieces."""
    check_dimension(dimension)
    pieces = policy_pieces(store, policy) if pieces is None else pieces
    if not pieces:
        return {}
    labels = _Labels(store, pieces)
    first = min(p.start for p in pieces)
    last = as_of or max((p.end or p.start) for p in pieces)
    figure_days = [(month, month_figure_day(month, as_of)) for month in _months(first, last)]
    amounts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for piece in pieces:
        key = (labels.value(dimension, piece), piece.currency, piece.customer_id)
        for month, day in figure_days:
            if piece.start <= day and (piece.end is None or piece.end > day):
                amounts[key][month] += piece.mrr_minor
    return amounts


def classify(before: int, after: int, had_mrr: bool) -> str:
    if before <= 0 < after:
        return REACTIVATION if had_mrr else NEW
    if after <= 0 < before:
        return CHURN
    if after != before:
        return EXPANSION if after > before else CONTRACTION
    return ""


def segment_history(amounts: Mapping[tuple[str, str, str], Mapping[str, int]], dimension: str,
                    first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
    """One row per month, segment and currency: MRR, customers, each movement, net new MRR."""
    months = sorted({m for by_month in amounts.values() for m in by_month})
    totals: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (value, currency, _customer), by_month in amounts.items():
        before, had_mrr = 0, False
        for month in months:
            after = by_month.get(month, 0)
            bucket = totals[(month, value, currency)]
            bucket["mrr_minor"] += after
            bucket["customers"] += 1 if after > 0 else 0
            kind = classify(before, after, had_mrr)
            if kind:
                bucket[f"{kind}_minor"] += after - before
            had_mrr, before = had_mrr or after > 0, after
    rows = []
    for (month, value, currency), bucket in sorted(totals.items()):
        if not _within(month, first, last) or not (bucket["mrr_minor"] or any(bucket[f"{k}_minor"] for k in MOVEMENT_KINDS)):
            continue
        movements = {f"{k}_minor": bucket[f"{k}_minor"] for k in MOVEMENT_KINDS}
        rows.append({"period": month, "by": dimension, "segment": value, "currency": currency,
                     "mrr_minor": bucket["mrr_minor"], "customers": bucket["customers"], **movements,
                     "net_new_mrr_minor": sum(movements.values())})
    return rows


def _within(month: str, first: str | None, last: str | None) -> bool:
    return (first or "0000-00") <= month <= (last or "9999-99")


def converted_segment_history(amounts: Mapping[tuple[str, str, str], Mapping[str, int]], dimension: str, rates,
                              first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
    """The same per segment in the reporting currency: each customer's piece converted at the month's rate."""
    converted: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    for (value, currency, customer), by_month in amounts.items():
        for month, amount in by_month.items():
            converted[(value, rates.reporting_currency, customer)][month] = (
                converted[(value, rates.reporting_currency, customer)].get(month, 0)
                + (rates.convert(amount, currency, month) if amount else 0))
    return segment_history(converted, dimension, first, last)


def segment_view(store, policy, dimension: str, first: str | None, last: str | None, rates=None) -> list[dict[str, Any]]:
    """``mrr history --by DIMENSION``: per-currency segment rows, then (with ``rates``) the converted ones."""
    from . import engine
    from .reporting_view import CURRENCY_VIEW, REPORTING_VIEW

    amounts = segment_customer_months(store, policy, dimension, engine.stored_policy(store).as_of)
    rows = segment_history(amounts, dimension, first, last)
    if rates is None:
        return rows
    return ([{**row, "view": CURRENCY_VIEW} for row in rows]
            + [{**row, "view": REPORTING_VIEW} for row in converted_segment_history(amounts, dimension, rates, first, last)])
