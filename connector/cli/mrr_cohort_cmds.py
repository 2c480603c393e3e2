"""`mrr cohorts` and `mrr history --by`: retention by first-paid month, MRR per segment."""

from __future__ import annotations

import click

from ..mrr import cohorts as cohort_rules
from ..mrr import converted, engine, queries, reporting_view
from ..mrr.breakdown import check_dimension, segment_view
from ..mrr.reporting_view import CURRENCY_VIEW, REPORTING_VIEW
from ..store import opened
from .conversion import conversion_options, reporting_rates
from .output import output_options, print_rows


def cohort_rows(facts, table, first: str | None, last: str | None) -> list[dict]:
    """Cohort rows per currency, then (with a reporting currency) the converted ones; cohorts from first to last."""
    months = queries.customer_months(facts)
    within = lambda row: (first or "0000-00") <= row["cohort"] <= (last or "9999-99")   # noqa: E731
    rows = [r for r in cohort_rules.cohort_table(cohort_rules.per_currency_series(months)) if within(r)]
    if table is None:
        return rows
    table = reporting_view.rates_for(facts, table)
    series = cohort_rules.converted_series(converted.customer_months(months, table), table.reporting_currency)
    return ([{**r, "view": CURRENCY_VIEW} for r in rows]
            + [{**r, "view": REPORTING_VIEW} for r in cohort_rules.cohort_table(series) if within(r)])


def segment_rows(settings, policy, dimension: str, first, last, table) -> list[dict]:
    """``history --by``: from the stored segments under ``policy`` (None: the store's own)."""
    check_dimension(dimension)
    with opened(settings.db, read_only=True) as store:
        table = reporting_view.rates_for(store, table) if table is not None else None
        return segment_view(store, policy or engine.policy_of_store(store), dimension, first, last, table)


def register(mrr: click.Group, common_options, policy_option, since_option, until_option, reading, parse_month) -> None:
    @mrr.command()
    @common_options
    @output_options
    @policy_option
    @click.option("--since", default=None, help="First cohort shown (YYYY-MM).")
    @click.option("--until", default=None, help="Last cohort shown (YYYY-MM).")
    @conversion_options
    def cohorts(config_path, db, output_format, policy_name, since, until, rates, reporting_currency, refresh_rates):
        """Retention by first-paid month: customers and MRR of each cohort in every month since.

        logo_retention = customers ÷ cohort_customers, revenue_retention = mrr ÷ cohort_mrr
        (6 decimals; docs/metrics.md).

        \b
        Example:
          billing-connector mrr cohorts --since 2025-01 --reporting-currency USD --format csv
        """
        from .options import settings_from

        settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
        first, last = parse_month(since, "--since"), parse_month(until, "--until")
        table = reporting_rates(settings, rates, refresh_rates)
        with reading(settings, policy_name, output_format) as (facts, _info, envelope):
            rows = cohort_rows(facts, table, first, last)
        extra = {"reporting_currency": table.reporting_currency.upper()} if table else {}
        print_rows(rows, output_format, envelope={**envelope, **extra})
