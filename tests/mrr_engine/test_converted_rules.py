"""The converted view classifies movements under the same policy rules as the per-currency view.

Oracle: a customer paying in the reporting currency itself converts at 1, so every
converted movement must be the engine's own, kind for kind, month by month and day by
day, whatever the rules (minimum reactivation gap, same-month new-and-churn, reactivation
reported as expansion, churn as contraction). The engine classifies from the days; the
converted view works from the stored months (or from days, by the day).
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mrr import converted
from connector.mrr.engine import Rules, compute_ledgers
from connector.mrr.fx import Rates
from connector.mrr.ledger import mrr_on
from connector.mrr.model import Segment
from connector.mrr.reporting_rates import ReportingRates

HORIZON = date(2024, 12, 31)
BASE = date(2023, 1, 1)
RATES = ReportingRates("usd", Rates("usd", {}, "rates.csv"))

_span = st.tuples(st.integers(0, 600), st.one_of(st.none(), st.integers(1, 90)), st.integers(1, 5000))
_rules = st.builds(lambda gap, ignore, react, churn: Rules("p", "fp", gap, ignore, False, react, churn),
                   st.sampled_from([0, 10, 45]), st.booleans(), st.booleans(), st.booleans())


def _segments(spans):
    return [Segment("c", "usd", BASE + timedelta(days=o), None if n is None else BASE + timedelta(days=o + n), a,
                    source_id=f"s{i}", subscription_id=f"sub{i}") for i, (o, n, a) in enumerate(spans)]


def _day_rows(runs):
    """What queries.customer_days gives: every day with MRR, and 0 on the first day without it."""
    rows, before = [], 0
    day = BASE - timedelta(days=1)
    while day <= HORIZON:
        amount = mrr_on(runs, day)
        if amount > 0 or before > 0:
            rows.append({"customer_id": "c", "currency": "usd", "day": day.isoformat(), "mrr_minor": amount})
        before, day = amount, day + timedelta(days=1)
    return rows


@settings(max_examples=120, deadline=None)
@given(spans=st.lists(_span, min_size=1, max_size=5), rules=_rules)
def test_in_its_own_currency_the_converted_movements_are_the_engines(spans, rules):
    [ledger] = compute_ledgers(_segments(spans), rules, HORIZON)
    month_rows = [{"customer_id": "c", "currency": "usd", "month": f.month, "mrr_minor": f.mrr_minor,
                   "movement": f.movement} for f in ledger.months]
    by_month = converted.customer_months(month_rows, RATES, rules=rules)
    assert [(m.month, m.movement, m.movement_minor) for m in by_month] == [
        (f.month, f.movement, f.movement_minor) for f in ledger.months]

    by_day = converted.customer_months(_day_rows(ledger.runs), RATES, grain="day", rules=rules)
    assert [(m.month, m.movement, m.movement_minor) for m in by_day if m.movement] == [
        (d.day.isoformat(), d.kind, d.amount_minor) for d in ledger.days]


def test_a_return_within_the_gap_in_another_currency_is_an_expansion_in_the_reporting_one():
    # EUR until 10 March, USD from 20 March: per currency a contraction to 0 and an expansion from 0
    # (the gap is shorter than 30 days); converted, one customer whose MRR changed currency
    rules = Rules("p", "fp", 30, False, False, False, False)
    segments = [Segment("c", "eur", date(2024, 1, 1), date(2024, 3, 10), 1000, source_id="a", subscription_id="a"),
                Segment("c", "usd", date(2024, 3, 20), None, 1200, source_id="b", subscription_id="b")]
    rows = [{"customer_id": "c", "currency": ledger.currency, "month": f.month, "mrr_minor": f.mrr_minor,
             "movement": f.movement} for ledger in compute_ledgers(segments, rules, HORIZON) for f in ledger.months]
    rates = ReportingRates("usd", Rates("usd", {"eur": [("2024-01", 1.1, 1)]}, "rates.csv"))
    kinds = {m.month: m.movement for m in converted.customer_months(rows, rates, rules=rules)}
    assert kinds["2024-01"] == "new" and kinds["2024-03"] == "expansion"


def test_churn_and_reactivation_are_regrouped_as_the_policy_reports_them():
    rules = Rules("chargebee", "fp", 0, False, False, True, True)
    segments = [Segment("c", "usd", date(2024, 1, 1), date(2024, 3, 1), 1000, source_id="a", subscription_id="a"),
                Segment("c", "usd", date(2024, 6, 1), None, 1000, source_id="b", subscription_id="b")]
    [ledger] = compute_ledgers(segments, rules, HORIZON)
    rows = [{"customer_id": "c", "currency": "usd", "month": f.month, "mrr_minor": f.mrr_minor,
             "movement": f.movement} for f in ledger.months]
    kinds = {m.month: m.movement for m in converted.customer_months(rows, RATES, rules=rules) if m.movement}
    assert kinds == {"2024-01": "new", "2024-03": "contraction", "2024-06": "expansion"}
    counters = converted.monthly_counters(converted.customer_months(rows, RATES, rules=rules))
    assert counters["2024-03"]["churned_customers"] == 0 and counters["2024-06"]["reactivated_customers"] == 0
