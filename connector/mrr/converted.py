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

The policy's movement rules hold in this view as in the per-currency one
(``rules``: the store's, connector.mrr.engine.Rules; see docs/metrics.md), applied
where the customer's converted total crosses zero:

* by the month, the per-currency rows say what each currency's crossing was under
  the rules (they were classified from days): a currency back within
  ``reactivation_min_gap_days`` is an ``expansion`` and its drop a
  ``contraction``, so the converted crossing is too; a currency's ``reactivation``
  makes the converted one a reactivation even when that customer's earlier MRR
  never reached a month end;
* by the day, the days are there: a drop to 0 followed by MRR again within fewer
  than ``reactivation_min_gap_days`` days is a contraction and an expansion, and a
  first stretch that starts and ends in one calendar month does not count as having
  had MRR when ``same_month_new_churn_ignored``;
* then the kinds a product reports under another are regrouped
  (``reactivation_as_expansion``, ``churn_as_contraction``), as the stored rows are.

Metrics of the converted view are derived from the same counters as the
per-currency ones (connector.mrr.metrics.derive), so churn and retention rates
leave ``fx`` out (they measure customers, not exchange rates); ``net_new_mrr``
includes ``fx``, so it is the change in converted MRR.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from .metrics import COUNTERS, derive
from .movements import CHURN, CONTRACTION, EXPANSION, FX, MOVEMENT_KINDS, NEW, REACTIVATION

_CUSTOMER_COUNTER = {NEW: "new_customers", CHURN: "churned_customers", REACTIVATION: "reactivated_customers"}


def _month_before(month: str) -> str:
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


def day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def customer_months(rows: Iterable[Mapping[str, Any]], rates, *, grain: str = "month",
                    rules=None) -> list[ConvertedMonth]:
    """Each customer-month (rows: customer_id, currency, month, mrr_minor and, by the month, the stored
    ``movement``) in the reporting currency; with ``grain="day"`` each customer-day (rows keyed by
    ``day``, a period being a ``YYYY-MM-DD`` string). ``rules``: the policy's movement rules (an
    engine.Rules; None = the defaults)."""
    month_before = day_before if grain == "day" else _month_before
    months_of: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    stored_kinds: dict[tuple[str, str], set[str]] = defaultdict(set)   # (customer, month): crossing kinds
    for row in rows:
        months_of[row["customer_id"]][row[grain]][row["currency"]] = row["mrr_minor"]
        if row.get("movement") in (NEW, REACTIVATION, EXPANSION, CHURN, CONTRACTION):
            stored_kinds[(row["customer_id"], row[grain])].add(row["movement"])
    out = []
    for customer_id in sorted(months_of):
        by_month = months_of[customer_id]
        figures: list[ConvertedMonth] = []
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
            stored = stored_kinds.get((customer_id, month), set())
            if before <= 0 < at_old_rate:
                # a currency back within the minimum gap (or a reactivation reported as expansion) is no new start
                kind = (EXPANSION if EXPANSION in stored
                        else REACTIVATION if had_mrr or REACTIVATION in stored else NEW)
            elif at_old_rate <= 0 < before:
                kind = CONTRACTION if CONTRACTION in stored else CHURN
            elif change:
                kind = EXPANSION if change > 0 else CONTRACTION
            else:
                kind = ""
            figures.append(ConvertedMonth(customer_id, month, now, before, kind, change if kind else 0,
                                          now - at_old_rate, tuple(sorted(c for c, a in amounts.items() if a))))
            had_mrr = had_mrr or any(a > 0 for a in amounts.values())
            previous_month, previous = month, amounts
        if grain == "day" and rules is not None:
            figures = _day_rules(figures, rules)
        regrouped = rules.regrouped if rules is not None else {}
        out += [f if f.movement not in regrouped else replace(f, movement=regrouped[f.movement]) for f in figures]
    return out


def _day_rules(days: list[ConvertedMonth], rules) -> list[ConvertedMonth]:
    """One customer's converted days under ``reactivation_min_gap_days`` and ``same_month_new_churn_ignored``,
    as connector.mrr.movements.classify_days applies them to a currency's days."""
    out = list(days)
    gap = rules.reactivation_min_gap_days
    short_returns: set[int] = set()    # returns within the gap after a drop: expansions
    life_month: str | None = None      # the month the current stretch started
    first_life = True                  # never churned nor reactivated yet
    had_mrr = False
    for index, figure in enumerate(out):
        if figure.movement in (NEW, REACTIVATION):
            if index in short_returns:
                out[index] = replace(figure, movement=EXPANSION)
                continue
            kind = REACTIVATION if had_mrr else NEW
            out[index] = replace(figure, movement=kind)
            first_life = first_life and kind == NEW
            had_mrr, life_month = True, figure.month[:7]
        elif figure.movement == CHURN:
            back = next((j for j in range(index + 1, len(out)) if out[j].movement in (NEW, REACTIVATION)), None)
            if back is not None and 0 < gap and (
                    date.fromisoformat(out[back].month) - date.fromisoformat(figure.month)).days < gap:
                out[index] = replace(figure, movement=CONTRACTION)
                short_returns.add(back)
                continue
            if rules.same_month_new_churn_ignored and first_life and life_month == figure.month[:7]:
                had_mrr = False
            first_life = False
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


def history(rows: Iterable[Mapping[str, Any]], rates, *, grain: str = "month", rules=None) -> list[dict[str, Any]]:
    """One row per month (or day): converted MRR, customers, each movement, ``fx``, net new MRR (the change)."""
    out = []
    for month, counters in sorted(monthly_counters(customer_months(rows, rates, grain=grain, rules=rules)).items()):
        movements = {f"{k}_minor": counters[f"{k}_minor"] for k in (*MOVEMENT_KINDS, FX)}
        out.append({
            "period": month, "currency": rates.reporting_currency, "mrr_minor": counters["mrr_minor"],
            "customers": counters["customers"], **movements, "net_new_mrr_minor": sum(movements.values()),
        })
    return out


def metrics(rows: Iterable[Mapping[str, Any]], rates, rules=None) -> list[dict[str, Any]]:
    """One metrics row per month in the reporting currency (the per-currency columns, plus ``fx``)."""
    out = []
    for month, counters in sorted(monthly_counters(customer_months(rows, rates, rules=rules)).items()):
        derived = derive(counters)
        derived["net_new_mrr_minor"] += counters["fx_minor"]
        out.append({"month": month, "currency": rates.reporting_currency,
                    **{k: counters[k] for k in COUNTERS}, "fx_minor": counters["fx_minor"], **derived})
    return out
