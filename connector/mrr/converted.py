"""The converted view: customer-months in one reporting currency, movements, ``fx``, counters and metrics.

The rounding rule: each customer's MRR in each currency is converted with one
rate and rounded once, half to even, to the reporting currency's minor unit
(connector.mrr.fx.convert_minor); a customer's converted MRR is the sum of
those integers. Every later figure is a sum or difference of them, so:

* a customer's change from month t−1 to t splits exactly into their movement
  at last month's rate, ``conv(M_t, r_{t−1}) − conv(M_{t−1}, r_{t−1})``
  (classified new / expansion / contraction / churn / reactivation on the
  converted total), and ``fx = conv(M_t, r_t) − conv(M_t, r_{t−1})``, where
  only currencies the customer already paid in last month take last month's
  rate: new money (a new customer, a new currency) counts at this month's rate
  and makes no fx, and no rate before the customer's first month is needed;
* a month's movements plus its ``fx`` add up to the change in converted MRR to
  the minor unit (tests/mrr_engine/test_converted.py checks it with hypothesis).

In the reporting currency a customer is one customer, whatever currencies they
pay in: counted once, classified on their converted total (a switch from EUR
to USD is an expansion or contraction, never a churn and a new), and counted
as paying when that total is above 0 (¥1 that rounds to $0.00 is not).

Metrics of the converted view are derived from the same counters as the
per-currency ones (connector.mrr.metrics.derive), so churn and retention rates
leave ``fx`` out (they measure customers, not exchange rates); ``net_new_mrr``
includes ``fx``, so it is the change in converted MRR.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .metrics import COUNTERS, derive
from .movements import CHURN, CONTRACTION, EXPANSION, FX, MOVEMENT_KINDS, NEW, REACTIVATION

_CUSTOMER_COUNTER = {NEW: "new_customers", CHURN: "churned_customers", REACTIVATION: "reactivated_customers"}


def month_before(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def converted_total(amounts: Mapping[str, int], rates, when) -> int:
    """A customer's MRR over their currencies, each converted and rounded once, summed."""
    return sum(rates.convert(amount, currency, when) for currency, amount in sorted(amounts.items()) if amount)


@dataclass(frozen=True)
class ConvertedMonth:
    """One customer's month in the reporting currency."""

    customer_id: str
    month: str
    mrr_minor: int             # at this month's rate
    start_mrr_minor: int       # last month's MRR at last month's rate (0 when they had none)
    movement: str              # "" when their MRR at last month's rate did not change
    movement_minor: int
    fx_minor: int
    currencies: tuple[str, ...]


def customer_months(rows: Iterable[Mapping[str, Any]], rates) -> list[ConvertedMonth]:
    """Each customer-month (rows: customer_id, currency, month, mrr_minor) in the reporting currency."""
    months_of: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        months_of[row["customer_id"]][row["month"]][row["currency"]] = row["mrr_minor"]
    out = []
    for customer_id in sorted(months_of):
        by_month = months_of[customer_id]
        had_mrr = False
        previous_month, previous = None, {}
        for month in sorted(by_month):
            amounts = by_month[month]
            prior_month = month_before(month)
            prior = previous if previous_month == prior_month else {}
            before = converted_total(prior, rates, prior_month)
            # money held over from last month is revalued (fx); a currency new this month has no old rate to
            # compare with, so it counts at this month's rate and makes no fx
            at_old_rate = sum(rates.convert(amount, currency, prior_month if prior.get(currency, 0) > 0 else month)
                              for currency, amount in sorted(amounts.items()) if amount)
            now = converted_total(amounts, rates, month)
            change = at_old_rate - before
            if before <= 0 < at_old_rate:
                kind = REACTIVATION if had_mrr else NEW
            elif at_old_rate <= 0 < before:
                kind = CHURN
            elif change:
                kind = EXPANSION if change > 0 else CONTRACTION
            else:
                kind = ""
            out.append(ConvertedMonth(customer_id, month, now, before, kind, change if kind else 0,
                                      now - at_old_rate, tuple(sorted(c for c, a in amounts.items() if a))))
            had_mrr = had_mrr or any(a > 0 for a in amounts.values())
            previous_month, previous = month, amounts
    return out


def monthly_counters(months: Iterable[ConvertedMonth]) -> dict[str, dict[str, int]]:
    """The per-currency metrics' counters (connector.mrr.metrics.COUNTERS) per month, plus ``fx_minor``."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*COUNTERS, "fx_minor"), 0))
    for figure in months:
        bucket = totals[figure.month]
        bucket["customer_rows"] += 1
        bucket["mrr_minor"] += figure.mrr_minor
        bucket["start_mrr_minor"] += figure.start_mrr_minor
        bucket["customers"] += 1 if figure.mrr_minor > 0 else 0
        bucket["start_customers"] += 1 if figure.start_mrr_minor > 0 else 0
        bucket["fx_minor"] += figure.fx_minor
        if figure.movement:
            bucket[f"{figure.movement}_minor"] += figure.movement_minor
            if figure.movement in _CUSTOMER_COUNTER:
                bucket[_CUSTOMER_COUNTER[figure.movement]] += 1
    return dict(totals)


def history(rows: Iterable[Mapping[str, Any]], rates) -> list[dict[str, Any]]:
    """One row per month: converted MRR, customers, each movement, ``fx``, net new MRR (the change)."""
    out = []
    for month, counters in sorted(monthly_counters(customer_months(rows, rates)).items()):
        movements = {f"{k}_minor": counters[f"{k}_minor"] for k in (*MOVEMENT_KINDS, FX)}
        out.append({
            "period": month, "currency": rates.reporting_currency, "mrr_minor": counters["mrr_minor"],
            "customers": counters["customers"], **movements, "net_new_mrr_minor": sum(movements.values()),
        })
    return out


def metrics(rows: Iterable[Mapping[str, Any]], rates) -> list[dict[str, Any]]:
    """One metrics row per month in the reporting currency (the per-currency columns, plus ``fx``)."""
    out = []
    for month, counters in sorted(monthly_counters(customer_months(rows, rates)).items()):
        derived = derive(counters)
        derived["net_new_mrr_minor"] += counters["fx_minor"]
        out.append({"month": month, "currency": rates.reporting_currency,
                    **{k: counters[k] for k in COUNTERS}, "fx_minor": counters["fx_minor"], **derived})
    return out
