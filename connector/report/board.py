"""What a board reads first, for one view (a currency, or the reporting currency): headline figures,
the month's largest movers, the largest customers, MRR by plan, cohorts.

Plain functions of a view's month rows and its per-customer monthly MRR
(``{customer_id: {month: mrr_minor}}``), so the per-currency sections and the
converted one are computed by the same code.

Trailing-twelve-month figures, for the last complete month M (constant
currency: both ends at M's rate in the converted view, so no ``fx`` enters):

* NRR (TTM) = Σ MRR at M of the customers paying at M−12 ÷ Σ their MRR at M−12;
* gross MRR churn (TTM) = Σ max(0, MRR at M−12 − MRR at M) over those customers ÷ Σ their MRR at M−12.

The last month's NRR and gross MRR churn are the monthly metrics of M (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..mrr.metrics import format_rate

TOP_MOVERS = 10


@dataclass(frozen=True)
class Headline:
    mrr_minor: int
    previous_mrr_minor: int | None       # the month before the as-of day's month, at its month end
    previous_month: str
    customers: int
    last_complete_month: str | None
    nrr_month: str | None                # exact 6-place rates, as the metrics store them
    gross_churn_month: str | None
    nrr_ttm: str | None
    gross_churn_ttm: str | None

    @property
    def arr_minor(self) -> int:
        return 12 * self.mrr_minor

    @property
    def change_minor(self) -> int | None:
        return None if self.previous_mrr_minor is None else self.mrr_minor - self.previous_mrr_minor

    @property
    def change_rate(self) -> str | None:
        if not self.previous_mrr_minor:
            return None
        return format_rate(Fraction(self.mrr_minor - self.previous_mrr_minor, self.previous_mrr_minor))


def months_back(month: str, count: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def trailing_twelve(series: Mapping[str, Mapping[str, int]], month: str) -> tuple[str | None, str | None]:
    """(NRR, gross MRR churn) over the twelve months to ``month``; None when nobody paid twelve months before."""
    start_month = months_back(month, 12)
    start = end = lost = 0
    for by_month in series.values():
        before = by_month.get(start_month, 0)
        if before <= 0:
            continue
        after = max(by_month.get(month, 0), 0)
        start, end, lost = start + before, end + after, lost + max(before - after, 0)
    if not start:
        return None, None
    return format_rate(Fraction(end, start)), format_rate(Fraction(lost, start))


def headline(months: Sequence[Mapping[str, Any]], ttm_series: Mapping[str, Mapping[str, int]], current_mrr_minor: int,
             current_customers: int, as_of_month: str, last_day_of_month: bool) -> Headline:
    """The headline of one view. ``months``: its monthly metric rows, oldest first; ``ttm_series``: the
    per-customer MRR to compute the trailing twelve months from (constant currency in the converted view)."""
    by_month = {row["month"]: row for row in months}
    previous = by_month.get(months_back(as_of_month, 1))
    complete = as_of_month if last_day_of_month else months_back(as_of_month, 1)
    row = by_month.get(complete)
    nrr_ttm, churn_ttm = trailing_twelve(ttm_series, complete)
    return Headline(
        mrr_minor=current_mrr_minor, previous_mrr_minor=previous["mrr_minor"] if previous else None,
        previous_month=months_back(as_of_month, 1),
        customers=current_customers, last_complete_month=complete if row else None,
        nrr_month=row.get("net_revenue_retention") if row else None,
        gross_churn_month=row.get("gross_mrr_churn_rate") if row else None,
        nrr_ttm=nrr_ttm, gross_churn_ttm=churn_ttm,
    )


def movers(series: Mapping[str, Mapping[str, int]], month: str, names: Mapping[str, str],
           count: int = TOP_MOVERS) -> list[dict[str, Any]]:
    """The customers whose MRR changed most from the month before to ``month`` (largest absolute change)."""
    before_month = months_back(month, 1)
    changes = []
    for customer_id, by_month in series.items():
        before, after = by_month.get(before_month, 0), by_month.get(month, 0)
        if after != before:
            kind = ("new" if before <= 0 else "churn" if after <= 0
                    else "expansion" if after > before else "contraction")
            changes.append({"customer_id": customer_id, "name": names.get(customer_id), "kind": kind,
                            "before_minor": before, "after_minor": after, "change_minor": after - before})
    changes.sort(key=lambda c: (-abs(c["change_minor"]), c["customer_id"]))
    return changes[:count]


def largest(amounts: Mapping[str, int], names: Mapping[str, str], count: int) -> list[dict[str, Any]]:
    """The ``count`` largest positive amounts by key, with names (customers) where known."""
    ranked = sorted(((k, v) for k, v in amounts.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    return [{"customer_id": key, "name": names.get(key), "mrr_minor": value} for key, value in ranked[:count]]
