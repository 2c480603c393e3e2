"""What a report shows, read from the MRR facts: one section per currency, and the policy.

Which facts: ``connector.mrr.views.facts_for``, the same function every CLI
read uses — the stored facts under the store's policy, or another policy's
computed on the fly into an in-memory store (never rewriting the user's facts).

Currencies are never added together: every figure belongs to one section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from ..mrr import engine, queries
from ..mrr.cohorts import cohort_table, per_currency_series
from ..mrr.metrics import COUNTERS, DERIVED
from ..mrr.views import NoMrrData, PolicyInfo, facts_for  # noqa: F401  (re-exported for the report)
from ..store import Store
from .board import Headline, headline, largest, movers

TOP_CUSTOMERS = 10


@dataclass
class CurrencySection:
    currency: str
    months: list[dict[str, Any]]             # monthly metric rows, oldest first, gaps filled with zeros
    current_mrr_minor: int                    # on the as-of day
    current_customers: int
    top_customers: list[dict[str, Any]] = field(default_factory=list)   # customer_id, name, mrr_minor
    headline: Headline | None = None
    movers: list[dict[str, Any]] = field(default_factory=list)          # the as-of month's largest changes
    plans: list[tuple[str, int]] = field(default_factory=list)          # MRR by plan in the as-of month
    cohorts: list[dict[str, Any]] = field(default_factory=list)         # connector.mrr.cohorts rows
    lines: dict[str, list[int]] = field(default_factory=dict)           # converted view: MRR per currency
    rate_sources: str = ""                                              # converted view: the as-of rates
    currency_mrr: dict[str, int] = field(default_factory=dict)          # converted view: each currency on the as-of day
    share: Fraction | None = None                                       # of the converted MRR on the as-of day


@dataclass
class ReportData:
    as_of: date
    policy: PolicyInfo
    sections: list[CurrencySection]
    computed_as_of: date | None = None       # the day the facts were computed for (engine's as-of day)
    reporting: CurrencySection | None = None  # the converted view, with a reporting currency
    stale_rates: str | None = None           # the newest ECB fixing used, when older than a week before the as-of day

    @property
    def computed_through(self) -> str | None:
        """The facts' last month (YYYY-MM): its figure is the MRR on ``computed_as_of``."""
        return None if self.computed_as_of is None else month_of(self.computed_as_of)

    @property
    def stale(self) -> bool:
        """True when the facts were computed for an earlier day than the report's (no sync since).

        The engine's current-month figure is the MRR on its as-of day, so facts
        from an earlier day of the same month are stale too.
        """
        return self.computed_as_of is not None and self.computed_as_of < self.as_of


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last`` inclusive."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def empty_month(month: str, currency: str) -> dict[str, Any]:
    """A month no customer contributed to: MRR 0, no movement, rates undefined."""
    row: dict[str, Any] = {"month": month, "currency": currency, **dict.fromkeys(COUNTERS, 0)}
    row.update(dict.fromkeys(DERIVED))
    row.update(arr_minor=0, net_new_mrr_minor=0)
    return row


def _months_by_currency(facts: Store, until_month: str) -> dict[str, list[dict[str, Any]]]:
    by_currency: dict[str, dict[str, dict[str, Any]]] = {}
    for row in queries.monthly_metrics(facts, until=until_month):
        by_currency.setdefault(row["currency"], {})[row["month"]] = row
    filled = {}
    for currency, rows in sorted(by_currency.items()):
        months = month_range(min(rows), max(rows))
        filled[currency] = [rows.get(month) or empty_month(month, currency) for month in months]
    return filled


def collect(facts: Store, policy: PolicyInfo, as_of: date, plans: PlanAmounts | None = None) -> ReportData:
    """Every section's figures from a store holding facts (see :func:`facts_for`)."""
    months = _months_by_currency(facts, month_of(as_of))
    current = {row["currency"]: row for row in queries.current_mrr(facts, as_of)}
    names = customer_names(facts)
    by_customer: dict[str, dict[str, int]] = {}
    for row in queries.current_mrr_by_customer(facts, as_of):
        if row["mrr_minor"] > 0:
            by_customer.setdefault(row["currency"], {})[row["customer_id"]] = row["mrr_minor"]
    customer_rows = queries.customer_months(facts, until=month_of(as_of))
    series: dict[str, dict[str, dict[str, int]]] = {}
    for row in customer_rows:
        series.setdefault(row["currency"], {}).setdefault(row["customer_id"], {})[row["month"]] = row["mrr_minor"]
    month, month_end = month_of(as_of), (as_of + timedelta(days=1)).day == 1
    cohorts = cohort_table(per_currency_series(customer_rows), month)
    sections = []
    for currency in sorted(set(months) | set(current)):
        mrr_now = int(current.get(currency, {}).get("mrr_minor") or 0)
        customers_now = int(current.get(currency, {}).get("customers") or 0)
        currency_series = series.get(currency, {})
        sections.append(CurrencySection(
            currency=currency,
            months=months.get(currency, []),
            current_mrr_minor=mrr_now,
            current_customers=customers_now,
            top_customers=largest(by_customer.get(currency, {}), names, TOP_CUSTOMERS),
            headline=headline(months.get(currency, []), currency_series, mrr_now, customers_now, month, month_end),
            movers=movers(currency_series, month, names),
            plans=(plans or {}).get(currency, []),
            cohorts=[r for r in cohorts if r["currency"] == currency],
        ))
    return ReportData(as_of=as_of, policy=policy, sections=sections, computed_as_of=engine.stored_policy(facts).as_of)


def customer_names(store: Store) -> dict[str, str]:
    """Customer id → name from the neutral customers (names the provider holds; none for imported data)."""
    if not store.db["billing_customers"].exists():
        return {}
    return {cid: name for cid, name in store.db.execute(
        "SELECT customer_id, name FROM billing_customers WHERE _deleted = 0 AND name IS NOT NULL").fetchall()}


PlanAmounts = dict[str, list[tuple[str, int]]]


def load_report_data(store: Store, policy=None, *, as_of: date | None = None, rates=None) -> ReportData:
    """Everything a report shows, for ``policy`` (None: the stored facts) on ``as_of`` (default today, UTC);
    with ``rates`` (connector.mrr.reporting_rates) also the converted view, first."""
    from .converted_section import plan_amounts, reporting_section

    as_of = as_of or today_utc()
    wanted = policy or engine.policy_of_store(store)
    plan_pieces = plan_amounts(store, wanted, as_of) if wanted is not None and store.db["mrr_segments"].exists() else {}
    with facts_for(store, policy, as_of=as_of) as (facts, info):
        data = collect(facts, info, as_of, _per_currency_plans(plan_pieces, month_of(as_of)))
        if rates is not None:
            data.reporting, data.stale_rates = reporting_section(facts, rates, as_of, plan_pieces, data.sections)
            total = data.reporting.current_mrr_minor
            for section in data.sections:
                converted = data.reporting.currency_mrr.get(section.currency, 0)
                section.share = Fraction(converted, total) if total else None
            data.sections.sort(key=lambda s: (-(s.share or 0), s.currency))
            data.reporting.lines = {s.currency: data.reporting.lines[s.currency] for s in data.sections}
        return data


def _per_currency_plans(pieces, month: str) -> PlanAmounts:
    totals: dict[str, dict[str, int]] = {}
    for (plan, currency, _customer), by_month in pieces.items():
        amount = by_month.get(month, 0)
        if amount:
            totals.setdefault(currency, {})[plan] = totals.setdefault(currency, {}).get(plan, 0) + amount
    return {c: sorted(p.items(), key=lambda kv: (-kv[1], kv[0])) for c, p in totals.items()}
