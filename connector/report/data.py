"""What a report shows, read from the MRR facts: one section per currency, and the policy.

Which facts: ``connector.mrr.views.facts_for``, the same function every CLI
read uses — the stored facts under the store's policy, or another policy's
computed on the fly into an in-memory store (never rewriting the user's facts).

Currencies are never added together: every figure belongs to one section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from ..mrr import engine, queries
from ..mrr.metrics import COUNTERS, DERIVED
from ..mrr.views import NoMrrData, PolicyInfo, facts_for  # noqa: F401  (re-exported for the report)
from ..store import Store

TOP_CUSTOMERS = 10


@dataclass
class CurrencySection:
    currency: str
    months: list[dict[str, Any]]             # monthly metric rows, oldest first, gaps filled with zeros
    current_mrr_minor: int                    # on the as-of day
    current_customers: int
    top_customers: list[dict[str, Any]] = field(default_factory=list)   # customer_id, mrr_minor


@dataclass
class ReportData:
    as_of: date
    policy: PolicyInfo
    sections: list[CurrencySection]
    computed_as_of: date | None = None       # the day the facts were computed for (engine's as-of day)

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


def collect(facts: Store, policy: PolicyInfo, as_of: date) -> ReportData:
    """Every section's figures from a store holding facts (see :func:`facts_for`)."""
    months = _months_by_currency(facts, month_of(as_of))
    current = {row["currency"]: row for row in queries.current_mrr(facts, as_of)}
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for row in queries.current_mrr_by_customer(facts, as_of):
        if row["mrr_minor"] > 0:
            by_customer.setdefault(row["currency"], []).append(row)
    sections = []
    for currency in sorted(set(months) | set(current)):
        top = sorted(by_customer.get(currency, []), key=lambda r: (-r["mrr_minor"], r["customer_id"]))
        sections.append(CurrencySection(
            currency=currency,
            months=months.get(currency, []),
            current_mrr_minor=int(current.get(currency, {}).get("mrr_minor") or 0),
            current_customers=int(current.get(currency, {}).get("customers") or 0),
            top_customers=[{"customer_id": r["customer_id"], "mrr_minor": r["mrr_minor"]} for r in top[:TOP_CUSTOMERS]],
        ))
    return ReportData(as_of=as_of, policy=policy, sections=sections, computed_as_of=engine.stored_policy(facts).as_of)


def load_report_data(store: Store, policy=None, *, as_of: date | None = None) -> ReportData:
    """Everything a report shows, for ``policy`` (None: the stored facts) on ``as_of`` (default today, UTC)."""
    as_of = as_of or today_utc()
    with facts_for(store, policy, as_of=as_of) as (facts, info):
        return collect(facts, info, as_of)
