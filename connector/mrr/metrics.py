"""Monthly metrics per currency, from customer-month figures.

Every stored metric is either an additive counter (a sum over customer-months,
so an incremental update can subtract a customer's old contribution and add
the new one) or derived from those counters when the row is written. Rates are
exact fractions written as decimals with ``RATE_PLACES`` places, rounded half
to even once; money stays in integer minor units. Definitions and worked
examples: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from .model import round_half_even
from .movements import CHURN, CONTRACTION, EXPANSION, NEW, REACTIVATION, MonthFigure

RATE_PLACES = 6

# Additive columns of mrr_monthly_metrics, in order.
COUNTERS = (
    "customer_rows",          # customer-months contributing (the row exists while > 0)
    "mrr_minor",
    "start_mrr_minor",
    "customers",
    "start_customers",
    "new_minor",
    "expansion_minor",
    "contraction_minor",
    "churn_minor",
    "reactivation_minor",
    "new_customers",
    "churned_customers",
    "reactivated_customers",
)

DERIVED = (
    "arr_minor",
    "arpu_minor",
    "net_new_mrr_minor",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "gross_revenue_retention",
    "net_revenue_retention",
    "customer_churn_rate",
    "quick_ratio",
)

_MOVEMENT_COUNTER = {
    NEW: "new_minor",
    EXPANSION: "expansion_minor",
    CONTRACTION: "contraction_minor",
    CHURN: "churn_minor",
    REACTIVATION: "reactivation_minor",
}
_CUSTOMER_COUNTER = {NEW: "new_customers", CHURN: "churned_customers", REACTIVATION: "reactivated_customers"}


def add_counters(total: dict[str, int], part: Mapping[str, int], sign: int = 1) -> None:
    for name in COUNTERS:
        total[name] = total.get(name, 0) + sign * part.get(name, 0)


_INDEX = {name: position for position, name in enumerate(COUNTERS)}
_MOVEMENT_INDEX = {kind: _INDEX[counter] for kind, counter in _MOVEMENT_COUNTER.items()}
_CUSTOMER_INDEX = {kind: _INDEX[counter] for kind, counter in _CUSTOMER_COUNTER.items()}


def aggregate(figures: Iterable[tuple[str, MonthFigure]]) -> dict[tuple[str, str], dict[str, int]]:
    """Counters per (currency, month) from ``(currency, figure)`` pairs.

    Each customer-month adds one row, its MRR and start MRR, a customer when
    its MRR is positive, and its movement to that movement's counter. Movement
    amounts are stored signed (contraction and churn are negative) so the five
    movements of a month add up to the change in MRR. Plain lists: this is the
    hot loop of a full recompute (millions of customer-months).
    """
    totals: dict[tuple[str, str], list[int]] = {}
    width = len(COUNTERS)
    for currency, figure in figures:
        key = (currency, figure.month)
        total = totals.get(key)
        if total is None:
            total = totals[key] = [0] * width
        mrr, start, movement = figure.mrr_minor, figure.start_mrr_minor, figure.movement
        total[0] += 1
        total[1] += mrr
        total[2] += start
        if mrr > 0:
            total[3] += 1
        if start > 0:
            total[4] += 1
        if movement:
            total[_MOVEMENT_INDEX[movement]] += figure.movement_minor
            customer_index = _CUSTOMER_INDEX.get(movement)
            if customer_index is not None:
                total[customer_index] += 1
    return {key: dict(zip(COUNTERS, values)) for key, values in totals.items()}


def format_rate(value: Fraction | None) -> str | None:
    """An exact ratio as a fixed-places decimal string (half to even), None when undefined."""
    if value is None:
        return None
    scaled = round_half_even(value * 10**RATE_PLACES)
    sign = "-" if scaled < 0 else ""
    digits = f"{abs(scaled):0{RATE_PLACES + 1}d}"
    return f"{sign}{digits[:-RATE_PLACES]}.{digits[-RATE_PLACES:]}"


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def derive(counters: Mapping[str, int]) -> dict[str, Any]:
    """The derived metrics of one month from its counters (see docs/metrics.md)."""
    start = counters["start_mrr_minor"]
    lost = -(counters["churn_minor"] + counters["contraction_minor"])     # >= 0
    won_back = counters["expansion_minor"] + counters["reactivation_minor"]
    gained = counters["new_minor"] + won_back
    customers = counters["customers"]
    return {
        "arr_minor": 12 * counters["mrr_minor"],
        "arpu_minor": round_half_even(Fraction(counters["mrr_minor"], customers)) if customers else None,
        "net_new_mrr_minor": sum(counters[c] for c in _MOVEMENT_COUNTER.values()),
        "gross_mrr_churn_rate": format_rate(_ratio(lost, start)),
        "net_mrr_churn_rate": format_rate(_ratio(lost - won_back, start)),
        "gross_revenue_retention": format_rate(_ratio(start - lost, start)),
        "net_revenue_retention": format_rate(_ratio(start - lost + counters["expansion_minor"], start)),
        "customer_churn_rate": format_rate(_ratio(counters["churned_customers"], counters["start_customers"])),
        "quick_ratio": format_rate(_ratio(gained, lost)),
    }
