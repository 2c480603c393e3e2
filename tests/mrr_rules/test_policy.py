"""The policy object: presets, overrides, errors naming the valid choices, fingerprint."""

from __future__ import annotations

from fractions import Fraction

import pytest

from connector.errors import ConfigError
from connector.mrr.policy import PRESETS, RULE_NAMES, Policy, load_policy


def test_unknown_policy_names_the_valid_presets():
    with pytest.raises(ConfigError) as caught:
        load_policy("baremetrics", {})
    assert str(caught.value) == "unknown MRR policy 'baremetrics': use one of default, stripe, chartmogul, profitwell, chargebee"


def test_unknown_rule_names_the_valid_rules():
    with pytest.raises(ConfigError) as caught:
        load_policy("default", {"trial_counts": True})
    assert str(caught.value) == (
        f"unknown MRR rule 'trial_counts' in [mrr]: valid rules are {', '.join(RULE_NAMES)}, "
        "stripe_discounts, stripe_churn")
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
    assert PRESETS["stripe"].discount_durations_reducing_mrr == ("forever", "repeating")
    assert PRESETS["chartmogul"].revenue_basis == "invoice"
    assert PRESETS["chartmogul"].past_due_counts is True
    assert PRESETS["profitwell"].discount_durations_reducing_mrr == ("forever", "repeating", "once")
    assert PRESETS["profitwell"].same_month_new_churn_ignored is True
    chargebee = PRESETS["chargebee"]
    assert (chargebee.trials_count, chargebee.cancel_at_period_end_churn, chargebee.reactivation_as_expansion,
            chargebee.churn_as_contraction) == (False, "period_end", True, True)
    assert len({p.fingerprint() for p in PRESETS.values()}) == 5


def test_stripe_dashboard_settings_set_the_rules_they_stand_for():
    assert load_policy("stripe", {"stripe_churn": "at_period_end"}).cancel_at_period_end_churn == "period_end"
    assert load_policy("stripe", {"stripe_churn": "at_cancellation"}).cancel_at_period_end_churn == "request"
    assert [load_policy("stripe", {"stripe_discounts": v}).discount_durations_reducing_mrr
            for v in ("recurring", "one_time", "both")] == [
        ("forever", "repeating"), ("once",), ("forever", "repeating", "once")]
    with pytest.raises(ConfigError) as caught:
        load_policy("stripe", {"stripe_discounts": "all"})
    assert str(caught.value) == "MRR setting stripe_discounts = 'all': must be one of recurring, one_time, both"


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
