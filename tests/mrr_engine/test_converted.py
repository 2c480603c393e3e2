"""The converted view: movements plus fx add up exactly to the change in converted MRR, whatever the rates."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mrr import converted
from connector.mrr.fx import Rates
from connector.mrr.reporting_rates import ReportingRates

CURRENCIES = ("usd", "eur", "jpy", "kwd", "gbp", "chf")
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]


def _engine_rows(customer: str, currency: str, amounts: list[int]) -> list[dict]:
    """Customer-months as the engine stores them: months with MRR, and the month it fell to 0 (the churn)."""
    rows, before = [], 0
    for month, amount in zip(MONTHS, amounts):
        if amount > 0 or before > 0:
            rows.append({"customer_id": customer, "currency": currency, "month": month, "mrr_minor": amount})
        before = amount
    return rows


rate_path = st.lists(st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(500), max_denominator=10_000),
                     min_size=len(MONTHS), max_size=len(MONTHS))
account = st.lists(
    st.tuples(st.sampled_from(CURRENCIES[1:]),
              st.lists(st.sampled_from([0, 0, 1, 999, 5000, 12345, 250000]), min_size=len(MONTHS), max_size=len(MONTHS))),
    min_size=1, max_size=12)


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(account, st.fixed_dictionaries({c: rate_path for c in CURRENCIES[1:]}), st.sampled_from(CURRENCIES))
def test_movements_and_fx_add_up_to_the_change_in_converted_mrr(pieces, paths, reporting):
    # customers may pay in several currencies (pieces share customer ids), with gaps and returns
    series: dict[tuple[str, str], list[int]] = {}
    for index, (currency, amounts) in enumerate(pieces):
        series.setdefault((f"c{index % 5}", currency), amounts)   # one series per customer and currency
    rows = [row for (customer, currency), amounts in series.items() for row in _engine_rows(customer, currency, amounts)]
    table = {c: [(month, rate, 1) for month, rate in zip(MONTHS, path)] for c, path in paths.items() if c != reporting}
    rates = ReportingRates(reporting, Rates(reporting, table, "rates.csv"))
    history = {row["period"]: row for row in converted.history(rows, rates)}
    previous = 0
    for month in MONTHS:
        row = history.get(month)
        mrr = row["mrr_minor"] if row else 0
        if row:
            kinds = ("new", "expansion", "contraction", "churn", "reactivation", "fx")
            assert sum(row[f"{k}_minor"] for k in kinds) == row["net_new_mrr_minor"] == mrr - previous
            # each customer once, whatever they pay in (counted when their converted MRR is above 0)
            by_customer: dict[str, int] = {}
            for r in rows:
                if r["month"] == month:
                    by_customer[r["customer_id"]] = (by_customer.get(r["customer_id"], 0)
                                                     + rates.convert(r["mrr_minor"], r["currency"], month))
            assert row["customers"] == sum(1 for total in by_customer.values() if total > 0)
            # the converted MRR is each customer's amounts converted and rounded once, summed
            assert mrr == sum(rates.convert(r["mrr_minor"], r["currency"], month) for r in rows if r["month"] == month)
        previous = mrr


def test_a_hand_worked_month_with_two_currencies_and_a_rate_change():
    table = {"eur": [("2024-01", Fraction("1.10"), 2), ("2024-02", Fraction("1.20"), 3)]}
    rates = ReportingRates("usd", Rates("usd", table, "rates.csv"))
    rows = [
        {"customer_id": "a", "currency": "eur", "month": "2024-01", "mrr_minor": 10000},
        {"customer_id": "a", "currency": "eur", "month": "2024-02", "mrr_minor": 12000},
        {"customer_id": "b", "currency": "usd", "month": "2024-01", "mrr_minor": 5000},
        {"customer_id": "b", "currency": "usd", "month": "2024-02", "mrr_minor": 0},
        {"customer_id": "b", "currency": "eur", "month": "2024-02", "mrr_minor": 4000},
    ]
    january, february = converted.metrics(rows, rates)
    # January: a €100 → $110, b $50: both new. February: a €120 at January's 1.10 = $132 (+$22 expansion),
    # fx 120 × (1.20 − 1.10) = +$12; b moved $50 → €40, new money for b at February's 1.20 = $48: −$2
    # contraction (not churn + new), no fx. Change $192 − $160 = $32 = 22 − 2 + 12.
    assert (january["mrr_minor"], january["new_minor"], january["customers"]) == (16000, 16000, 2)
    assert {k: february[k] for k in ("mrr_minor", "start_mrr_minor", "customers", "expansion_minor",
                                      "contraction_minor", "churn_minor", "new_minor", "fx_minor", "net_new_mrr_minor",
                                      "gross_mrr_churn_rate", "net_revenue_retention")} == {
        "mrr_minor": 19200, "start_mrr_minor": 16000, "customers": 2, "expansion_minor": 2200,
        "contraction_minor": -200, "churn_minor": 0, "new_minor": 0, "fx_minor": 1200, "net_new_mrr_minor": 3200,
        "gross_mrr_churn_rate": "0.012500", "net_revenue_retention": "1.125000"}
