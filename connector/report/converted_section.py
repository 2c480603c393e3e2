"""The report's converted view: one section in the reporting currency, built like a currency's.

Figures come from connector.mrr.converted (each customer's amounts converted
and rounded once; ``fx`` its own movement), so the report's total equals
``mrr history --reporting-currency`` to the minor unit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from ..mrr import converted, queries, reporting_view
from ..mrr.breakdown import segment_customer_months
from ..mrr.cohorts import cohort_table, converted_series
from ..mrr.ecb import STALE_AFTER_DAYS
from ..mrr.fx import rate_day
from .board import headline, largest, months_back, movers
from .data import TOP_CUSTOMERS, CurrencySection, customer_names, empty_month, month_of, month_range


def plan_amounts(store, policy, as_of: date):
    """{(plan, currency, customer): {month: MRR}} from the stored segments under ``policy``."""
    return segment_customer_months(store, policy, "plan", as_of)


def _filled(rows: list[dict[str, Any]], currency: str, last: str) -> list[dict[str, Any]]:
    if not rows:
        return []
    by_month = {row["month"]: row for row in rows}
    return [by_month.get(m) or {**empty_month(m, currency), "fx_minor": 0} for m in month_range(min(by_month), last)]


def _constant_currency(rows, rates, month: str) -> dict[str, dict[str, int]]:
    """Each customer's MRR twelve months before ``month`` and at ``month``, both at ``month``'s rate."""
    start = months_back(month, 12)
    series: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row["month"] in (start, month) and row["mrr_minor"]:
            series[row["customer_id"]][row["month"]] += rates.convert(row["mrr_minor"], row["currency"], month)
    return series


def reporting_section(facts, rates, as_of: date, plan_pieces, sections: list[CurrencySection]):
    """(the converted section, the stale ECB fixing day as text or None)."""
    to = rates.reporting_currency
    rates = reporting_view.rates_for(facts, rates)
    last = month_of(as_of)
    rows = queries.customer_months(facts, until=last)
    rules = reporting_view.rules_for(facts)
    months = _filled(converted.metrics(rows, rates, rules), to, last)
    figures = converted.customer_months(rows, rates, rules=rules)
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for figure in figures:
        series[figure.customer_id][figure.month] = figure.mrr_minor
    lines: dict[str, list[int]] = {}
    by_currency: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        if row["mrr_minor"]:
            by_currency[(row["currency"], row["month"])] += rates.convert(row["mrr_minor"], row["currency"], row["month"])
    for section in sections:
        lines[section.currency] = [by_currency.get((section.currency, m["month"]), 0) for m in months]
    now = reporting_view.current(facts, rates, as_of)
    by_customer: dict[str, int] = defaultdict(int)
    for row in queries.current_mrr_by_customer(facts, as_of):
        if row["mrr_minor"] > 0:
            by_customer[row["customer_id"]] += rates.convert(row["mrr_minor"], row["currency"], as_of)
    plans: dict[str, int] = defaultdict(int)
    for (plan, currency, _customer), by_month in plan_pieces.items():
        if by_month.get(last):
            plans[plan] += rates.convert(by_month[last], currency, last)
    names = customer_names(facts)
    month_end = (as_of + timedelta(days=1)).day == 1
    complete = last if month_end else months_back(last, 1)
    section = CurrencySection(
        currency=to, months=months, current_mrr_minor=now["mrr_minor"], current_customers=now["customers"],
        top_customers=largest(by_customer, names, TOP_CUSTOMERS),
        headline=headline(months, _constant_currency(rows, rates, complete), now["mrr_minor"], now["customers"],
                          last, month_end),
        movers=movers(series, last, names),
        plans=sorted(plans.items(), key=lambda kv: (-kv[1], kv[0])),
        cohorts=cohort_table(converted_series(figures, to), last),
        lines=lines,
        rate_sources=rates.sources([s.currency for s in sections], as_of),
        currency_mrr=now["per_currency"],
    )
    return section, _stale(rates, [s.currency for s in sections], as_of)


def _stale(rates, currencies, as_of: date) -> str | None:
    """The oldest ECB fixing the as-of figures use, when it is more than a week before the as-of day."""
    fixings = [q.fixing_day for q in (rates.quote(c, rate_day(as_of)) for c in currencies) if q.fixing_day]
    if fixings and min(fixings) < as_of - timedelta(days=STALE_AFTER_DAYS):
        return min(fixings).isoformat()
    return None
