"""The MRR policy: every rule of DESIGN.md's table as a named setting (docs/mrr-rules.md).

A :class:`Policy` is applied to the stored, policy-neutral segments by
``segments.effective_segments``; nothing here reads the store. Presets
reproduce the products users compare against; ``load_policy`` takes a preset
name plus per-rule overrides (``[mrr]`` in config.toml, ``--policy NAME``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from fractions import Fraction
from typing import Any

from ..errors import ConfigError
from .model import DEFAULT_INTERVAL_FACTORS

DISCOUNT_DURATIONS = ("forever", "repeating", "once")
REVENUE_BASES = ("subscription", "invoice")
CANCEL_TIMINGS = ("period_end", "request")
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


@dataclass(frozen=True)
class Policy:
    name: str = "default"
    # Normalisation: month ×1, year ÷12 are fixed; day and week are conventions.
    day_factor: Fraction = DEFAULT_INTERVAL_FACTORS["day"]
    week_factor: Fraction = DEFAULT_INTERVAL_FACTORS["week"]
    # Which source says what a customer pays for a span: the live subscription for
    # its current period onwards (invoices before), or invoices for every span they billed.
    revenue_basis: str = "subscription"
    trials_count: bool = False
    past_due_counts: bool = True
    past_due_auto_churn_days: int | None = None
    unpaid_counts: bool = False
    incomplete_counts: bool = False
    paused_counts: bool = False
    cancel_at_period_end_churn: str = "period_end"
    discount_durations_reducing_mrr: tuple[str, ...] = ("forever", "repeating")
    unknown_discounts_reduce_mrr: bool = True
    prorations_mark_price_changes: bool = True
    include_usage_in_mrr: bool = False
    full_refund_is_unpaid: bool = True
    partial_refund_reduces_mrr: bool = False
    excluded_invoice_statuses: tuple[str, ...] = ("draft", "uncollectible", "void")   # canonical order
    unknown_status_counts: bool = False
    # Read by the engine (movements, metrics), not by the segments.
    reactivation_min_gap_days: int = 0
    same_month_new_churn_ignored: bool = False
    reactivation_as_expansion: bool = False
    churn_as_contraction: bool = False
    month_figure: str = "last_day"

    @property
    def interval_factors(self) -> dict[str, Fraction]:
        return {**DEFAULT_INTERVAL_FACTORS, "day": self.day_factor, "week": self.week_factor}

    def settings(self) -> dict[str, Any]:
        """The rules as plain JSON-able values (Fractions as "n/d" text)."""
        out = {}
        for key, value in asdict(self).items():
            if isinstance(value, Fraction):
                value = f"{value.numerator}/{value.denominator}"
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out

    def fingerprint(self) -> str:
        """A stable short hash of the rules (not the name), stored with computed rows."""
        rules = {k: v for k, v in self.settings().items() if k != "name"}
        text = json.dumps(rules, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


PRESETS: dict[str, Policy] = {
    "default": Policy(),
    # Stripe Billing's dashboard: MRR leaves at the cancellation request (its
    # "churn at cancellation" setting) and recurring discounts (forever,
    # repeating) lower it (its "subtract recurring discounts" setting); both
    # settings can be switched: stripe_churn, stripe_discounts.
    "stripe": Policy(
        name="stripe", cancel_at_period_end_churn="request", discount_durations_reducing_mrr=("forever", "repeating"),
    ),
    # ChartMogul: invoice-based; what was invoiced (discounts of every duration
    # included) counts for the service period billed; past due keeps MRR; churn
    # when the last billed service period ends; unpaid invoices still count.
    "chartmogul": Policy(
        name="chartmogul", revenue_basis="invoice",
        discount_durations_reducing_mrr=("forever", "repeating", "once"),
        excluded_invoice_statuses=("draft", "void"),
    ),
    # ProfitWell: every discount lowers MRR while it lasts; a customer new and
    # churned in the same month is not counted.
    "profitwell": Policy(
        name="profitwell", discount_durations_reducing_mrr=("forever", "repeating", "once"),
        same_month_new_churn_ignored=True,
    ),
    # Chargebee (RevenueStory): active and non-renewing subscriptions count (a
    # scheduled cancellation keeps MRR to the term's end), trials do not;
    # reactivations are reported under expansion and churn under contraction.
    # A subscription in dunning stays `active` in Chargebee and keeps its MRR even
    # once an invoice is not_paid (our `unpaid`), until dunning cancels it.
    "chargebee": Policy(
        name="chargebee", cancel_at_period_end_churn="period_end", unpaid_counts=True,
        reactivation_as_expansion=True, churn_as_contraction=True,
    ),
}

# The two settings of Stripe's dashboard, as shorthands for the rules they set.
DASHBOARD_SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "stripe_discounts": ("discount_durations_reducing_mrr", {
        "recurring": ("forever", "repeating"), "one_time": ("once",), "both": ("forever", "repeating", "once"),
    }),
    "stripe_churn": ("cancel_at_period_end_churn", {"at_cancellation": "request", "at_period_end": "period_end"}),
}

RULE_NAMES = tuple(f.name for f in fields(Policy) if f.name != "name")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError("must be true or false")


def _as_fraction(value: Any) -> Fraction:
    if isinstance(value, float):
        raise ValueError('must be exact: an integer or a fraction text such as "365/12"')
    result = Fraction(value) if not isinstance(value, bool) else None
    if result is None or result <= 0:
        raise ValueError("must be a positive number")
    return result


def _as_optional_days(value: Any) -> int | None:
    if value is None or value == "" or (isinstance(value, str) and value.lower() == "none"):
        return None
    return _as_days(value)


def _as_days(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number of days")
    try:
        days = int(str(value))
    except ValueError:
        raise ValueError("must be a whole number of days") from None
    if days < 0:
        raise ValueError("must be 0 or more days")
    return days


def _one_of(choices: tuple[str, ...]):
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value
    return parse


def _subset_of(choices: tuple[str, ...]):
    def parse(value: Any) -> tuple[str, ...]:
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
        unknown = [v for v in items if v not in choices]
        if unknown:
            raise ValueError(f"unknown {', '.join(map(str, unknown))}; valid: {', '.join(choices)}")
        return tuple(v for v in choices if v in items)   # canonical order: stable fingerprint
    return parse


_PARSERS = {
    "day_factor": _as_fraction, "week_factor": _as_fraction,
    "revenue_basis": _one_of(REVENUE_BASES),
    "past_due_auto_churn_days": _as_optional_days,
    "cancel_at_period_end_churn": _one_of(CANCEL_TIMINGS),
    "discount_durations_reducing_mrr": _subset_of(DISCOUNT_DURATIONS),
    "excluded_invoice_statuses": _subset_of(INVOICE_STATUSES),
    "reactivation_min_gap_days": _as_days,
    "month_figure": _one_of(("last_day",)),
}


def load_policy(name: str, overrides: Mapping[str, Any] | None = None) -> Policy:
    """A preset with per-rule overrides. Raises ConfigError naming the valid presets or rules."""
    if name not in PRESETS:
        raise ConfigError(f"unknown MRR policy {name!r}: use one of {', '.join(PRESETS)}")
    policy = PRESETS[name]
    changes: dict[str, Any] = {}
    for rule, value in _expand_dashboard_settings(overrides or {}).items():
        if rule not in RULE_NAMES:
            valid = ", ".join((*RULE_NAMES, *DASHBOARD_SETTINGS))
            raise ConfigError(f"unknown MRR rule {rule!r} in [mrr]: valid rules are {valid}")
        parse = _PARSERS.get(rule) or (_as_bool if isinstance(getattr(policy, rule), bool) else None)
        try:
            changes[rule] = parse(value) if parse else value
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            raise ConfigError(f"MRR rule {rule} = {value!r}: {exc}") from None
    return replace(policy, **changes)


def _expand_dashboard_settings(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``stripe_discounts`` / ``stripe_churn`` replaced by the rules they stand for."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in DASHBOARD_SETTINGS:
            out[key] = value
            continue
        rule, choices = DASHBOARD_SETTINGS[key]
        if value not in choices:
            raise ConfigError(f"MRR setting {key} = {value!r}: must be one of {', '.join(choices)}")
        out[rule] = choices[value]
    return out
