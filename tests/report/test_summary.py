"""The terminal summary: exact rows per currency, gaps as zeros, a policy applied on the fly."""

from __future__ import annotations

import pytest

from connector.mrr.policy import load_policy
from connector.report.data import NoMrrData
from connector.report.summary import format_summary, summary_rows
from connector.store import open_store

from tests.support.mrr_store import AS_OF

ZERO_MOVES = {"new_minor": 0, "expansion_minor": 0, "contraction_minor": 0, "churn_minor": 0,
              "reactivation_minor": 0, "net_new_mrr_minor": 0}


def kwd_month(month, mrr_minor, customers, **moves):
    return {"month": month, "mrr_minor": mrr_minor, "mrr": f"{mrr_minor // 1000}.{mrr_minor % 1000:03d}",
            "customers": customers, **ZERO_MOVES, **moves}


def test_summary_is_exact_per_currency_with_twelve_months(mrr_store):
    summary = summary_rows(mrr_store, as_of=AS_OF)
    assert (summary["as_of"], summary["policy"]) == ("2019-12-15", "default")
    assert [(c["currency"], c["mrr_minor"], c["mrr"], c["customers"]) for c in summary["currencies"]] == [
        ("jpy", 1000, "1,000", 1), ("kwd", 12345, "12.345", 1), ("usd", 125500, "1,255.00", 28),
    ]
    kwd = summary["currencies"][1]["months"]
    assert kwd == [
        *(kwd_month(f"2019-{m:02d}", 0, 0) for m in range(1, 10)),   # no KWD customer yet: rows of zeros
        kwd_month("2019-10", 12345, 1, new_minor=12345, net_new_mrr_minor=12345),
        kwd_month("2019-11", 12345, 1),
        kwd_month("2019-12", 12345, 1),
    ]
    usd_april = summary["currencies"][2]["months"][3]
    assert usd_april == {
        "month": "2019-04", "mrr_minor": 89500, "mrr": "895.00", "customers": 17, "new_minor": 12000,
        "expansion_minor": 6500, "contraction_minor": 0, "churn_minor": 0, "reactivation_minor": 5000,
        "net_new_mrr_minor": 23500,
    }
    for block in summary["currencies"]:
        months = block["months"]
        assert len(months) == 12
        # movements add up to the MRR change, month after month, to the minor unit
        for before, after in zip(months, months[1:]):
            moves = sum(after[k] for k in ("new_minor", "expansion_minor", "contraction_minor", "churn_minor", "reactivation_minor"))
            assert after["mrr_minor"] - before["mrr_minor"] == moves == after["net_new_mrr_minor"]


def test_another_policy_is_computed_on_the_fly_and_leaves_the_stored_facts_alone(mrr_store):
    seq, fingerprint = mrr_store.current_seq(), mrr_store.meta("mrr_policy_fingerprint")
    policy = load_policy("default", {"reactivation_min_gap_days": 400})
    summary = summary_rows(mrr_store, policy, as_of=AS_OF)
    assert summary["policy_fingerprint"] == policy.fingerprint() != fingerprint
    april = summary["currencies"][2]["months"][3]
    # customer 1's return after two months is no longer a reactivation but an expansion
    assert (april["reactivation_minor"], april["expansion_minor"], april["mrr_minor"]) == (0, 11500, 89500)
    assert (mrr_store.current_seq(), mrr_store.meta("mrr_policy_fingerprint")) == (seq, fingerprint)
    assert summary_rows(mrr_store, as_of=AS_OF)["currencies"][2]["months"][3]["reactivation_minor"] == 5000


def test_format_summary_lines(mrr_store):
    lines = format_summary(summary_rows(mrr_store, as_of=AS_OF))
    assert lines[:5] == [
        "MRR on 2019-12-15 (policy default)",
        "",
        "JPY: 1,000 MRR, 1 paying customer",
        "  month      MRR  customers     new  expansion  contraction   churn  reactivation  net new",
        "  2019-01  1,000          1  +1,000          0            0       0             0   +1,000",
    ]
    assert "KWD: 12.345 MRR, 1 paying customer" in lines
    assert "USD: 1,255.00 MRR, 28 paying customers" in lines


def test_empty_store_says_what_to_run():
    store = open_store(None)
    with pytest.raises(NoMrrData, match="holds no MRR figures yet: run `billing-connector sync`"):
        summary_rows(store, as_of=AS_OF)
    with pytest.raises(NoMrrData, match="no revenue segments to compute MRR under policy 'stripe'"):
        summary_rows(store, load_policy("stripe"), as_of=AS_OF)
