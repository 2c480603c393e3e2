"""The metric definitions of docs/metrics.md, on their worked examples."""

from __future__ import annotations

from fractions import Fraction

from connector.mrr.metrics import COUNTERS, aggregate, derive, format_rate
from connector.mrr.movements import MonthFigure


def counters(**values):
    base = dict.fromkeys(COUNTERS, 0)
    base.update(values)
    return base


def test_docs_worked_example_start_100_churn_10_contraction_10_expansion_10():
    # start $100 over three customers ($10, $40, $50): the $10 one churns,
    # the $40 one contracts by $10, the $50 one expands by $10
    figures = [
        ("usd", MonthFigure("2024-02", 0, 1000, "churn", -1000, "", ())),
        ("usd", MonthFigure("2024-02", 3000, 4000, "contraction", -1000, "", ())),
        ("usd", MonthFigure("2024-02", 6000, 5000, "expansion", 1000, "", ())),
    ]
    [(key, total)] = aggregate(figures).items()
    assert key == ("usd", "2024-02")
    assert total == counters(
        customer_rows=3, mrr_minor=9000, start_mrr_minor=10000, customers=2, start_customers=3,
        expansion_minor=1000, contraction_minor=-1000, churn_minor=-1000, churned_customers=1,
    )
    assert derive(total) == {
        "arr_minor": 108000,
        "arpu_minor": 4500,
        "net_new_mrr_minor": -1000,
        "gross_mrr_churn_rate": "0.200000",
        "net_mrr_churn_rate": "0.100000",
        "gross_revenue_retention": "0.800000",
        "net_revenue_retention": "0.900000",
        "customer_churn_rate": "0.333333",
        "quick_ratio": "0.500000",
    }


def test_rates_are_undefined_without_a_base_and_round_half_even():
    assert derive(counters(customer_rows=1, mrr_minor=500, customers=1, new_minor=500, new_customers=1)) == {
        "arr_minor": 6000, "arpu_minor": 500, "net_new_mrr_minor": 500,
        "gross_mrr_churn_rate": None, "net_mrr_churn_rate": None, "gross_revenue_retention": None,
        "net_revenue_retention": None, "customer_churn_rate": None, "quick_ratio": None,
    }
    assert format_rate(Fraction(1, 8_000_000)) == "0.000000"    # 0.125e-6 → down (half to even)
    assert format_rate(Fraction(3, 2_000_000)) == "0.000002"    # 1.5e-6 → 2 (even)
    assert format_rate(Fraction(-1, 3)) == "-0.333333"
    assert format_rate(Fraction(7, 2)) == "3.500000"
