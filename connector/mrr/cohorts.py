"""Cohort retention by first-paid month: revenue and logos, per currency or in the reporting currency.

A customer's cohort is the first month they had MRR (per currency: the first
month in that currency; in the reporting currency: their first month with
converted MRR above 0). For each cohort and each month from it on:

* ``customers``: the cohort's customers with MRR above 0 that month (a
  customer who left and came back counts again);
* ``logo_retention`` = customers ÷ the cohort's size;
* ``mrr_minor``: the cohort's MRR that month (its month figure; in the
  reporting currency each month at its own rate, as ``mrr history``);
* ``revenue_retention`` = MRR ÷ the cohort's MRR in its first month (net: it
  includes expansion and returns, so it can exceed 1).

Ratios are exact fractions written with 6 decimals, half to even (as the
metrics), empty when the first month's MRR is 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from .metrics import format_rate


def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month_at(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def cohort_table(series: Mapping[tuple[str, str], Mapping[str, int]], last_month: str | None = None) -> list[dict[str, Any]]:
    """Rows per (currency, cohort, month) from ``{(customer_id, currency): {month: mrr_minor}}``."""
    if not series:
        return []
    last = last_month or max(m for by_month in series.values() for m in by_month)
    cohorts: dict[tuple[str, str], dict[str, Any]] = {}
    for (customer_id, currency), by_month in series.items():
        paid = sorted(m for m, amount in by_month.items() if amount > 0)
        if not paid or paid[0] > last:
            continue
        cohort = cohorts.setdefault((currency, paid[0]), {"size": 0, "start": 0, "members": []})
        cohort["size"] += 1
        cohort["start"] += by_month[paid[0]]
        cohort["members"].append(by_month)
    rows = []
    for (currency, cohort_month), cohort in sorted(cohorts.items()):
        first = _month_index(cohort_month)
        for index in range(first, _month_index(last) + 1):
            month = _month_at(index)
            amounts = [by_month.get(month, 0) for by_month in cohort["members"]]
            active = sum(1 for amount in amounts if amount > 0)
            mrr = sum(amounts)
            rows.append({
                "currency": currency, "cohort": cohort_month, "month": month, "months_since": index - first,
                "cohort_customers": cohort["size"], "customers": active,
                "logo_retention": format_rate(Fraction(active, cohort["size"])),
                "cohort_mrr_minor": cohort["start"], "mrr_minor": mrr,
                "revenue_retention": format_rate(Fraction(mrr, cohort["start"])) if cohort["start"] else None,
            })
    return rows


def per_currency_series(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    """``{(customer_id, currency): {month: mrr_minor}}`` from stored customer-months."""
    series: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for row in rows:
        series[(row["customer_id"], row["currency"])][row["month"]] = row["mrr_minor"]
    return dict(series)


def converted_series(months, reporting_currency: str) -> dict[tuple[str, str], dict[str, int]]:
    """The same from converted customer-months (connector.mrr.converted.customer_months)."""
    series: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for figure in months:
        series[(figure.customer_id, reporting_currency)][figure.month] = figure.mrr_minor
    return dict(series)
