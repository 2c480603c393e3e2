"""The MRR jobs: reads of the stored facts (current, history, customers, metrics, cohorts), rebuild, backfill, import.

Each opens the store itself (reads read-only, never writing a byte), returns
plain rows and the envelope every JSON answer opens with, and prints nothing:
``cli/mrr_cmds.py`` parses and prints. With a policy other than the stored
one, figures are computed on the fly from the stored segments and nothing is
written (connector.mrr.views).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from .. import refresh
from ..errors import ConfigError
from ..mrr import cohorts as cohort_rules
from ..mrr import converted as converted_months
from ..mrr import engine, queries, reporting_view, views
from ..mrr.breakdown import check_dimension, segment_view
from ..mrr.model import SEGMENTS_TABLE
from ..mrr.policy import load_policy
from ..mrr.reporting_view import CURRENCY_VIEW, REPORTING_VIEW
from ..store import opened
from ..sync.progress import one_phase
from ..sync_health import last_sync


def policy_named(settings, name: str | None):
    """The policy ``name`` (None: the configured one), with the configured rules."""
    return load_policy(name or settings.policy, settings.mrr_rules)


@dataclass
class Reading:
    """What an MRR read found: its rows and JSON envelope, and what people are told about the figures."""

    rows: list[dict[str, Any]]
    envelope: dict[str, Any]
    policy: str | None = None
    projection: bool = False
    computed_on_the_fly: bool = False   # another policy than the stored one: nothing written
    stored_as_of: str | None = None     # the stored facts' as-of day
    warning: str | None = None          # the last sync was partial (one line), or None
    converted: dict[str, Any] | None = None   # `current`'s reporting-currency totals


@contextmanager
def _reading(settings, policy_name: str | None, project_to: date | None = None) -> Iterator[tuple[Any, Reading]]:
    """The facts a read shows (connector.mrr.views.facts_for) and the Reading to fill in from them."""
    with opened(settings.db, read_only=True) as store:
        policy = policy_named(settings, policy_name) if policy_name is not None else None
        last = last_sync(store)
        try:
            with views.facts_for(store, policy, project_to=project_to) as (facts, info):
                reading = Reading(
                    [], {"policy": info.name, "projection": info.projection,
                         "partial": last["partial"], "warning": last["warning"]},
                    policy=info.name, projection=info.projection, computed_on_the_fly=info.computed_on_the_fly,
                    warning=last["warning"])
                yield facts, reading
            if not info.computed_on_the_fly and not info.projection:
                reading.stored_as_of = engine.stored_policy(store).as_of
        except views.NoMrrData as exc:
            if not store.db[SEGMENTS_TABLE].exists():
                raise ConfigError("the store holds no revenue segments yet: run `billing-connector backfill` first") \
                    from None
            raise ConfigError(str(exc)) from None


def _reporting_envelope(table) -> dict:
    return {} if table is None else {"reporting_currency": table.reporting_currency.upper()}


def _currency_view(rows: list[dict]) -> list[dict]:
    """Rows in their own currency, labelled as such beside converted ones."""
    return [{**r, "fx_minor": None, "view": CURRENCY_VIEW, "rate_source": None} for r in rows]


def current(settings, policy_name: str | None, day: date, table) -> Reading:
    """MRR and paying customers on ``day`` per currency; with ``table``, the converted totals too."""
    with _reading(settings, policy_name, project_to=day) as (facts, reading):
        reading.rows = queries.current_mrr(facts, day)
        reading.converted = reporting_view.current(facts, table, day) if table else None
    reading.envelope["date"] = day.isoformat()
    return reading


def history(settings, policy_name: str | None, grain: str, first, last, table, project_to: date | None) -> Reading:
    """One row per day or month (``first``/``last``: days or months); past the stored as-of day a projection."""
    from ..mrr.fx import convert_customer_months

    with _reading(settings, policy_name, project_to=project_to) as (facts, reading):
        as_of = engine.stored_policy(facts).as_of or engine.today_utc()   # the projection's end when projecting
        if grain == "day":
            end = min(last or as_of, as_of)
            rows = queries.history_by_day(facts, first, end)
            if table is not None:
                start = first or queries.first_mrr_day(facts) or end
                currencies = {r["currency"] for r in rows}
                converted = [{**r, "view": REPORTING_VIEW, "rate_source": table.sources(currencies, r["period"])}
                             for r in convert_customer_months(queries.customer_days(facts, start, end), table, grain="day",
                                                                       rules=reporting_view.rules_for(facts))
                             if start.isoformat() <= r["period"]]
                rows = _currency_view(rows) + converted
        else:
            rows = queries.history_by_month(facts, first, last)
            if table is not None:
                rows = _currency_view(rows) + reporting_view.history(facts, table, first, last)
        reading.rows = rows
    reading.envelope |= {"grain": grain, **_reporting_envelope(table)}
    return reading


def history_by_segment(settings, policy_name: str | None, dimension: str, first, last, table) -> Reading:
    """``history --by``: MRR per segment from the stored segments under the policy (None: the store's own)."""
    policy = policy_named(settings, policy_name) if policy_name is not None else None
    check_dimension(dimension)
    with opened(settings.db, read_only=True) as store:
        rates = reporting_view.rates_for(store, table) if table is not None else None
        rows = segment_view(store, policy or engine.policy_of_store(store), dimension, first, last, rates)
    return Reading(rows, {"grain": "month", "by": dimension, **_reporting_envelope(table)})


def customers(settings, policy_name: str | None, first, last, table, customer_id: str | None = None) -> Reading:
    """One row per customer per month, from their first month with MRR to their churn month."""
    with _reading(settings, policy_name) as (facts, reading):
        rows = queries.customer_months(facts, first, last, customer_id)
        converted = reporting_view.customer_months(facts, table, first, last, customer_id) if table else []
    reading.rows = [
        {"customer_id": r["customer_id"], "month": r["month"], "currency": r["currency"],
         "mrr_minor": r["mrr_minor"], "movement": r["movement"],
         "movement_amount_minor": r["movement_minor"] if r["movement"] else None, "cause": r["cause"],
         **({"fx_minor": None, "view": CURRENCY_VIEW, "rate_source": None} if table else {})}
        for r in rows
    ] + [{**row, "cause": None} for row in converted]
    reading.envelope |= _reporting_envelope(table)
    return reading


def metrics(settings, policy_name: str | None, first, last, table) -> Reading:
    """MRR, ARR, customers, ARPU, movements, churn rates, retention, quick ratio per month."""
    with _reading(settings, policy_name) as (facts, reading):
        rows = queries.monthly_metrics(facts, first, last)
        if table is not None:
            rows = _currency_view(rows) + [{**r, "policy": reading.policy}
                                           for r in reporting_view.metrics(facts, table, first, last)]
        reading.rows = rows
    reading.envelope |= _reporting_envelope(table)
    return reading


def cohorts(settings, policy_name: str | None, first, last, table) -> Reading:
    """Cohort rows per currency, then (with a reporting currency) the converted ones; cohorts from first to last."""
    with _reading(settings, policy_name) as (facts, reading):
        months = queries.customer_months(facts)
        within = lambda row: (first or "0000-00") <= row["cohort"] <= (last or "9999-99")   # noqa: E731
        rows = [r for r in cohort_rules.cohort_table(cohort_rules.per_currency_series(months)) if within(r)]
        if table is not None:
            rates = reporting_view.rates_for(facts, table)
            series = cohort_rules.converted_series(converted_months.customer_months(months, rates),
                                                   rates.reporting_currency)
            rows = ([{**r, "view": CURRENCY_VIEW} for r in rows]
                    + [{**r, "view": REPORTING_VIEW} for r in cohort_rules.cohort_table(series) if within(r)])
        reading.rows = rows
    reading.envelope |= _reporting_envelope(table)
    return reading


def rebuild(settings, policy_name: str | None) -> tuple[str, dict[str, int]]:
    """Recompute every customer's MRR (under ``policy_name``, which becomes the store's); (policy, counts)."""
    switch_to = policy_named(settings, policy_name) if policy_name is not None else None
    configured = policy_named(settings, None)
    with opened(settings.db, create=False) as store:
        policy = refresh.policy_for(store, configured, switch_to)
        with one_phase("mrr"):
            result = refresh.refresh(store, policy, recompute_all=True)
    return policy.name, result


def backfill(settings, policy_name: str | None, *, allow_partial: bool) -> tuple[dict[str, int], str | None]:
    """Map and recompute the whole history from the stored objects; (counts, the partial-data warning).

    Refused (ConfigError) while the last sync failed or was interrupted, unless ``allow_partial``.
    """
    switch_to = policy_named(settings, policy_name) if policy_name is not None else None
    configured = policy_named(settings, None)
    with opened(settings.db, create=False) as store:
        last = last_sync(store)
        if last["partial"] and not allow_partial:
            raise ConfigError(f"not backfilling: {last['warning']}; or pass --allow-partial")
        with one_phase("mrr"):
            result = refresh.backfill(store, configured, switch_to)
    return result, last["warning"]


def import_periods(settings, periods: list[dict], policy_name: str | None) -> tuple[int, dict[str, int]]:
    """Write validated subscription periods and update the MRR of their customers; (rows written, counts).

    A bad policy is refused before the store is touched (created, if need be).
    """
    from ..mrr.importer import write_subscription_periods

    switch_to = policy_named(settings, policy_name) if policy_name is not None else None
    configured = policy_named(settings, None)
    with opened(settings.db) as store:
        policy = refresh.policy_for(store, configured, switch_to)
        before = store.current_seq()
        written = write_subscription_periods(store, periods)
        result = refresh.refresh(store, policy, also=engine.customers_changed_since(store, before))
    return written, result
