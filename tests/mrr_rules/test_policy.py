"""The policy object: presets, overrides, errors naming the valid choices, fingerprint."""

from __future__ import annotations

from fractions import Fraction

import pytest

from connector.errors import ConfigError
from connector.mrr.policy import PRESETS, RULE_NAMES, Policy, load_policy


def test_unknown_policy_names_the_valid_presets():
    with pytest.raises(ConfigError) as caught:
        load_policy("baremetrics", {})
    assert str(caught.value) == "unknown MRR policy 'baremetrics': use one of default, stripe, chartmogul, profitwell"


def test_unknown_rule_names_the_valid_rules():
    with pytest.raises(ConfigError) as caught:
        load_policy("default", {"trial_counts": True})
    assert str(caught.value) == (
        f"unknown MRR rule 'trial_counts' in [mrr]: valid rules are {', '.join(RULE_NAMES)}")
    assert "trials_count" in str(caught.value)


def test_bad_rule_values_are_config_errors():
    with pytest.raises(ConfigError, match="revenue_basis = 'cash': must be one of subscription, invoice"):
        load_policy("default", {"revenue_basis": "cash"})
    with pytest.raises(ConfigError, match="discount_durations_reducing_mrr = .*unknown lifetime"):
        load_policy("default", {"discount_durations_reducing_mrr": ["forever", "lifetime"]})
    with pytest.raises(ConfigError, match="day_factor = 30.4: must be exact"):
        load_policy("default", {"day_factor": 30.4})


def test_overrides_parse_to_typed_values():
    policy = load_policy("stripe", {"day_factor": "30", "week_factor": "13/3", "past_due_auto_churn_days": "14",
                                    "trials_count": "true", "discount_durations_reducing_mrr": "once, forever"})
    assert (policy.name, policy.day_factor, policy.week_factor, policy.past_due_auto_churn_days, policy.trials_count,
            policy.discount_durations_reducing_mrr, policy.cancel_at_period_end_churn) == (
        "stripe", Fraction(30), Fraction(13, 3), 14, True, ("forever", "once"), "request")
    assert policy.interval_factors == {"month": 1, "year": Fraction(1, 12), "week": Fraction(13, 3), "day": 30}


def test_presets_differ_where_the_products_differ():
    default = PRESETS["default"]
    assert default == Policy()
    assert PRESETS["stripe"].cancel_at_period_end_churn == "request"
    assert PRESETS["stripe"].discount_durations_reducing_mrr == ("forever",)
    assert PRESETS["chartmogul"].revenue_basis == "invoice"
    assert PRESETS["chartmogul"].past_due_counts is True
    assert PRESETS["profitwell"].discount_durations_reducing_mrr == ("forever", "repeating", "once")
    assert PRESETS["profitwell"].same_month_new_churn_ignored is True
    assert len({p.fingerprint() for p in PRESETS.values()}) == 4


def test_fingerprint_is_stable_and_ignores_the_name():
    assert Policy().fingerprint() == Policy().fingerprint() == load_policy("default", {}).fingerprint()
    assert len(Policy().fingerprint()) == 16
    renamed = Policy(name="ours")
    assert renamed.fingerprint() == Policy().fingerprint()
    assert load_policy("default", {"trials_count": True}).fingerprint() != Policy().fingerprint()


def test_engine_settings_have_their_defaults():
    policy = load_policy("default", {})
    assert (policy.reactivation_min_gap_days, policy.same_month_new_churn_ignored, policy.past_due_auto_churn_days,
            policy.include_usage_in_mrr) == (0, False, None, False)
