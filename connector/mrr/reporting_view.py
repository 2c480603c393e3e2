"""The converted view of every MRR read: rows in the reporting currency, beside the per-currency rows.

Reads the stored facts (customer-months, the day's runs) and converts them with
connector.mrr.converted; each row names the rates it used (``rate_source``).
Rows carry ``view`` = ``"reporting"`` so a file holding both views can be
split with one filter; the per-currency rows get ``view`` = ``"currency"``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from . import converted, engine, queries
from .converted import converted_total

CURRENCY_VIEW, REPORTING_VIEW = "currency", "reporting"


def _currencies_by_month(rows) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["mrr_minor"]:
            seen[row["month"]].add(row["currency"])
    return seen


def _in_window(month: str, first: str | None, last: str | None) -> bool:
    return (first or "0000-00") <= month <= (last or "9999-99")


def rates_for(facts, rates):
    """``rates`` with the facts' as-of day: the unfinished month's figure is converted at that day's rate."""
    return rates.figures_through(engine.stored_policy(facts).as_of)


def rules_for(facts):
    """The movement rules the store's facts were classified under (engine.Rules; None before any)."""
    policy = engine.policy_of_store(facts)
    return None if policy is None else engine.Rules.of(policy)


def history(facts, rates, first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
    """Monthly MRR, movements, ``fx`` and net new MRR in the reporting currency, with each month's rate sources."""
    rates = rates_for(facts, rates)
    rows = queries.customer_months(facts)
    currencies = _currencies_by_month(rows)
    return [{**row, "view": REPORTING_VIEW, "rate_source": rates.sources(currencies.get(row["period"], ()), row["period"])}
            for row in converted.history(rows, rates, rules=rules_for(facts)) if _in_window(row["period"], first, last)]


def metrics(facts, rates, first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
    """The monthly metrics in the reporting currency (churn and retention rates leave ``fx`` out)."""
    rates = rates_for(facts, rates)
    rows = queries.customer_months(facts)
    currencies = _currencies_by_month(rows)
    return [{**row, "view": REPORTING_VIEW, "rate_source": rates.sources(currencies.get(row["month"], ()), row["month"])}
            for row in converted.metrics(rows, rates, rules_for(facts)) if _in_window(row["month"], first, last)]


def customer_months(facts, rates, first: str | None = None, last: str | None = None,
                    customer_id: str | None = None) -> list[dict[str, Any]]:
    """Each customer's months in the reporting currency: one row per customer and month, whatever they pay in."""
    rates = rates_for(facts, rates)
    rows = queries.customer_months(facts, customer_id=customer_id)
    return [
        {"customer_id": m.customer_id, "month": m.month, "currency": rates.reporting_currency,
         "mrr_minor": m.mrr_minor, "movement": m.movement,
         "movement_amount_minor": m.movement_minor if m.movement else None, "fx_minor": m.fx_minor,
         "view": REPORTING_VIEW, "rate_source": rates.sources(m.currencies, m.month)}
        for m in converted.customer_months(rows, rates, rules=rules_for(facts)) if _in_window(m.month, first, last)
    ]


def current(facts, rates, day: date) -> dict[str, Any]:
    """The day's MRR per currency and in total in the reporting currency, at the day's rate.

    Returns ``{"per_currency": {currency: minor}, "mrr_minor", "customers", "sources": {currency: text}}``;
    a customer paying in two currencies is one customer.
    """
    by_customer: dict[str, dict[str, int]] = defaultdict(dict)
    for row in queries.current_mrr_by_customer(facts, day):
        if row["mrr_minor"] > 0:
            by_customer[row["customer_id"]][row["currency"]] = row["mrr_minor"]
    per_currency: dict[str, int] = defaultdict(int)
    for amounts in by_customer.values():
        for currency, amount in amounts.items():
            per_currency[currency] += rates.convert(amount, currency, day)
    totals = [converted_total(amounts, rates, day) for amounts in by_customer.values()]
    return {
        "per_currency": dict(per_currency),
        "mrr_minor": sum(totals),
        "customers": sum(1 for total in totals if total > 0),
        "sources": {currency: rates.sources([currency], day) or "same currency" for currency in per_currency},
    }
