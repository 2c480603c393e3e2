"""The analysis tables the export sends beside the facts: segments, cohorts, the converted view.

* ``mrr_segment_months``: ``mrr history --by`` for every dimension (plan, product,
  interval, currency, country), per currency (``view = 'currency'``) and, with a
  reporting currency, converted (``view = 'reporting'``);
* ``mrr_cohorts``: ``mrr cohorts``, both views likewise;
* ``mrr_reporting_months``: ``mrr metrics`` in the reporting currency, with
  ``fx`` and each month's ``rate_source`` (empty without a reporting currency).

They are derived from the stored facts and segments under the store's policy,
rewritten by ``export`` before it sends (change-only: a row that did not change
keeps its ``_seq``, so an incremental export sends only what moved; rows gone,
e.g. another reporting currency, are soft-deleted and exported as deleted).
Not named ``mrr_segments``: that is the stored revenue-segments table.
"""

from __future__ import annotations

from typing import Any

from . import cohorts as cohort_rules
from . import converted, engine, queries, reporting_view
from .breakdown import DIMENSIONS, converted_segment_history, policy_pieces, segment_customer_months, segment_history
from ..store.tables import Column, Table
from .metrics import COUNTERS, DERIVED

SEGMENT_MONTHS_TABLE = "mrr_segment_months"
COHORTS_TABLE = "mrr_cohorts"
REPORTING_MONTHS_TABLE = "mrr_reporting_months"
_MOVEMENT_COLUMNS = ("new_minor", "expansion_minor", "contraction_minor", "churn_minor", "reactivation_minor")
# Written by export, not by sync: a store compared with another one compares the facts they derive from.
ANALYSIS_TABLES = (SEGMENT_MONTHS_TABLE, COHORTS_TABLE, REPORTING_MONTHS_TABLE)


def _key(*names: str) -> tuple[Column, ...]:
    return tuple((name, "TEXT NOT NULL", "") for name in names)


def _integers(*names: str) -> tuple[Column, ...]:
    return tuple((name, "INTEGER", "") for name in names)


_POLICY: Column = ("policy", "TEXT", "the store's policy the figures are computed under")
TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(SEGMENT_MONTHS_TABLE, (
            *_key("view", "dimension", "segment", "currency", "month"),
            *_integers("mrr_minor", "customers", *_MOVEMENT_COLUMNS, "net_new_mrr_minor"), _POLICY,
        ), primary_key=("view", "dimension", "segment", "currency", "month")),
        Table(COHORTS_TABLE, (
            *_key("view", "currency", "cohort", "month"),
            *_integers("months_since", "cohort_customers", "customers"), ("logo_retention", "TEXT", ""),
            *_integers("cohort_mrr_minor", "mrr_minor"), ("revenue_retention", "TEXT", ""), _POLICY,
        ), primary_key=("view", "currency", "cohort", "month")),
        Table(REPORTING_MONTHS_TABLE, (
            *_key("currency", "month"), *_integers(*COUNTERS, "fx_minor"),
            *((c, "INTEGER" if c.endswith("_minor") else "TEXT", "") for c in DERIVED),
            ("rate_source", "TEXT", ""), _POLICY,
        ), primary_key=("currency", "month")),
    ]
}
_KEYS = {name: table.primary_key for name, table in TABLES.items()}


def _create_tables(db) -> None:
    for table in TABLES.values():
        table.create_step()(db)


MIGRATIONS = [("0001_analysis_tables", _create_tables)]


def _segment_rows(store, policy, rates) -> list[dict[str, Any]]:
    as_of = engine.stored_policy(store).as_of
    pieces = policy_pieces(store, policy)     # once: the policy applied to every customer's segments
    rows = []
    for dimension in DIMENSIONS:
        amounts = segment_customer_months(store, policy, dimension, as_of, pieces)
        views = [("currency", segment_history(amounts, dimension))]
        if rates is not None:
            views.append(("reporting", converted_segment_history(amounts, dimension, rates)))
        for view, history in views:
            rows += [{"view": view, "dimension": dimension, "segment": r["segment"], "currency": r["currency"],
                      "month": r["period"], "mrr_minor": r["mrr_minor"], "customers": r["customers"],
                      **{c: r[c] for c in _MOVEMENT_COLUMNS}, "net_new_mrr_minor": r["net_new_mrr_minor"]}
                     for r in history]
    return rows


def _cohort_rows(store, rates) -> list[dict[str, Any]]:
    months = queries.customer_months(store)
    rows = [{"view": "currency", **r} for r in cohort_rules.cohort_table(cohort_rules.per_currency_series(months))]
    if rates is not None:
        series = cohort_rules.converted_series(converted.customer_months(months, rates), rates.reporting_currency)
        rows += [{"view": "reporting", **r} for r in cohort_rules.cohort_table(series)]
    return rows


def write_analysis_tables(store, rates=None) -> dict[str, int]:
    """Rewrite the three tables from the store's facts (``rates``: the reporting currency's, or None).

    Returns the rows written or deleted per table.
    """
    store.migrate("analysis", MIGRATIONS)
    policy = engine.policy_of_store(store)
    if policy is None:
        return dict.fromkeys(_KEYS, 0)
    if rates is not None:
        rates = reporting_view.rates_for(store, rates)
    name = str(policy.name)
    reporting = [] if rates is None else [
        {k: v for k, v in row.items() if k != "view"} for row in reporting_view.metrics(store, rates)]
    tables = {
        SEGMENT_MONTHS_TABLE: _segment_rows(store, policy, rates),
        COHORTS_TABLE: _cohort_rows(store, rates),
        REPORTING_MONTHS_TABLE: reporting,
    }
    written = {}
    with store.db.atomic():
        for table, rows in tables.items():
            written[table] = store.replace_scope(table, _KEYS[table], {}, [{**row, "policy": name} for row in rows])
    return written
