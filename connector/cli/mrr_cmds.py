"""`mrr current|history|customers|metrics|cohorts|rebuild` and `backfill`.

Thin: parse, call the MRR jobs (connector/app/mrr.py), print through the
output layer (cli/output.py). Reads show the stored facts under the store's
policy (named on stderr) and say in one line when the last sync was partial.
"""

from __future__ import annotations

from datetime import date

import click

from .. import app
from ..errors import ConfigError
from ..output_values import money
from .conversion import conversion_options, reporting_rates
from .options import common_options, settings_from
from .output import output_options, print_rows, warn

policy_option = click.option(
    "--policy", "policy_name", default=None,
    help="MRR policy preset (default, stripe, chartmogul, profitwell, chargebee). Reads: another than the "
    "stored one is computed on the fly, nothing written; rebuild, backfill, import: switch the store to it. "
    "Example: --policy stripe",
)
since_option = click.option("--since", default=None, help="First period shown (YYYY-MM, or YYYY-MM-DD for days).")
until_option = click.option("--until", default=None, help="Last period shown (YYYY-MM, or YYYY-MM-DD for days).")


def parse_day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a date: use YYYY-MM-DD") from None


def parse_month(text: str | None, flag: str) -> str | None:
    if text is None:
        return None
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return text
    raise ConfigError(f"{flag} {text!r} is not a month: use YYYY-MM")


def _tell(reading, output_format: str) -> None:
    """What people are told on stderr about the figures: partial data, and which policy's they are."""
    if output_format != "json":
        warn(reading.warning)
    if reading.computed_on_the_fly and not reading.projection:
        click.echo(f"computed under policy {reading.policy!r} from the stored segments (nothing written)", err=True)
    elif output_format == "table" and not reading.projection:
        click.echo(f"policy {reading.policy!r} (the stored facts, as of {reading.stored_as_of})", err=True)


def _monthly_read(job, output_format, config_path, db, policy_name, since, until, rates, reporting_currency,
                  refresh_rates, **options) -> None:
    """A read over a range of months (customers, metrics, cohorts): parse, run ``job``, tell, print."""
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    first, last = parse_month(since, "--since"), parse_month(until, "--until")
    table = reporting_rates(settings, rates, refresh_rates)
    reading = job(settings, policy_name, first, last, table, **options)
    _tell(reading, output_format)
    print_rows(reading.rows, output_format, envelope=reading.envelope)


@click.group()
def mrr() -> None:
    """MRR now, its history, per-customer months, metrics, and rebuilds. No network.

    \b
    Example:
      billing-connector mrr history --grain month --since 2024-01
    """


@mrr.command()
@common_options
@output_options
@policy_option
@click.option("--date", "on_date", default=None, help="Day to report (YYYY-MM-DD; default today, UTC).")
@conversion_options
def current(config_path, db, output_format, policy_name, on_date, rates, reporting_currency, refresh_rates):
    """MRR and paying customers now, per currency (and converted into a reporting currency).

    \b
    Example:
      billing-connector mrr current --reporting-currency EUR
    """
    from ..mrr.engine import today_utc

    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    day = parse_day(on_date, "--date") or today_utc()
    table = reporting_rates(settings, rates, refresh_rates)
    reading = app.mrr.current(settings, policy_name, day, table)
    _tell(reading, output_format)
    if reading.projection and output_format == "table":
        click.echo(f"projection: MRR on {day.isoformat()} if nothing changes after the stored as-of day "
                   f"(policy {reading.policy!r})")
    # CSV carries the label on every row; a table has the heading above, JSON the envelope
    label = {"policy": reading.policy, "projection": reading.projection} if output_format == "csv" else {}
    out = [{"date": day.isoformat(), **row, **label} for row in reading.rows]
    envelope = reading.envelope
    converted = reading.converted
    if converted is not None:
        to = table.reporting_currency
        for row in out:
            row |= {"reporting_currency": to, "reporting_mrr_minor": converted["per_currency"][row["currency"]],
                    "rate_source": converted["sources"][row["currency"]]}
        if output_format == "json":
            envelope |= {"reporting_currency": to.upper(), "reporting_total": money(converted["mrr_minor"], to),
                         "reporting_customers": converted["customers"]}
        else:   # the total is the table's / CSV's last row
            out.append({"date": day.isoformat(), "currency": "total", "mrr_minor": None,
                        "customers": converted["customers"], **label, "reporting_currency": to,
                        "reporting_mrr_minor": converted["mrr_minor"], "rate_source": ""})
    print_rows(out, output_format, envelope=envelope)


@mrr.command()
@common_options
@output_options
@policy_option
@click.option("--grain", type=click.Choice(["day", "month"]), default="month", show_default=True,
              help="One row per day or per month (month = MRR on the month's last day).")
@since_option
@until_option
@click.option("--by", "by", default=None,
              help="MRR, customers and movements per segment: plan, product, interval, currency or country.")
@conversion_options
def history(config_path, db, output_format, policy_name, grain, since, until, by, rates, reporting_currency,
            refresh_rates):
    """One row per period: MRR, customers, each movement, net new MRR.

    Nothing after the stored as-of day, unless --until asks for later: then the
    rows after it are a projection (if nothing changes), labelled as `mrr current
    --date` labels one. With --rates each period converts at its day's rate.

    \b
    Example:
      billing-connector mrr history --grain day --since 2024-06-01 --until 2024-06-30 --format csv
    """
    from ..mrr.fx import month_end

    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    if grain == "day":
        first, last = parse_day(since, "--since"), parse_day(until, "--until")
        project_to = last
    else:
        first, last = parse_month(since, "--since"), parse_month(until, "--until")
        project_to = date.fromisoformat(month_end(last)) if last else None
    table = reporting_rates(settings, rates, refresh_rates)
    if by is not None:
        if grain == "day":
            raise ConfigError("--by works with --grain month")
        reading = app.mrr.history_by_segment(settings, policy_name, by, first, last, table)
        print_rows(reading.rows, output_format, envelope=reading.envelope)
        return
    reading = app.mrr.history(settings, policy_name, grain, first, last, table, project_to)
    _tell(reading, output_format)
    rows = reading.rows
    if reading.projection:
        if output_format == "table":
            click.echo(f"projection: MRR history through {project_to.isoformat()} if nothing changes after the "
                       f"stored as-of day (policy {reading.policy!r})")
        elif output_format == "csv":   # no heading in CSV: every row carries the label
            rows = [{**row, "policy": reading.policy, "projection": True} for row in rows]
    print_rows(rows, output_format, envelope=reading.envelope)


@mrr.command()
@common_options
@output_options
@policy_option
@click.option("--grain", type=click.Choice(["month"]), default="month", show_default=True, help="Per-customer rows per month.")
@since_option
@until_option
@click.option("--customer", "customer_id", default=None, help="Only this customer (the provider's id), e.g. cus_123.")
@conversion_options
def customers(config_path, db, output_format, policy_name, grain, since, until, customer_id, rates,
              reporting_currency, refresh_rates):
    """One row per customer per month, from their first month with MRR to their churn month.

    \b
    Example:
      billing-connector mrr customers --grain month --customer cus_123 --format csv
    """
    _monthly_read(app.mrr.customers, output_format, config_path, db, policy_name, since, until, rates, reporting_currency,
                  refresh_rates, customer_id=customer_id)


@mrr.command()
@common_options
@output_options
@policy_option
@click.option("--grain", type=click.Choice(["month"]), default="month", show_default=True, help="Metrics per month and currency.")
@since_option
@until_option
@conversion_options
def metrics(config_path, db, output_format, policy_name, grain, since, until, rates, reporting_currency,
            refresh_rates):
    """MRR, ARR, customers, ARPU, movements, churn rates, retention, quick ratio per month.

    Rates are exact ratios with 6 decimals (0.200000 = 20 %); docs/metrics.md defines each.

    \b
    Example:
      billing-connector mrr metrics --grain month --since 2024-01 --format json
    """
    _monthly_read(app.mrr.metrics, output_format, config_path, db, policy_name, since, until, rates, reporting_currency,
                  refresh_rates)


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
    _monthly_read(app.mrr.cohorts, output_format, config_path, db, policy_name, since, until, rates, reporting_currency,
                  refresh_rates)


@mrr.command()
@common_options
@policy_option
def rebuild(config_path, db, policy_name):
    """Recompute every customer's MRR and store it; with --policy, switch the store to that policy.

    The stored policy is the one every read command shows (and names), every export sends and
    every later sync keeps, until the next `mrr rebuild --policy` (docs/metrics.md).

    \b
    Example:
      billing-connector mrr rebuild --policy chartmogul
    """
    settings = settings_from(config_path, db=db)
    policy, result = app.mrr.rebuild(settings, policy_name)
    click.echo(
        f"rebuilt MRR under policy {policy!r} (now the store's policy): {result['customers']} customers, "
        f"{result['rows_written']} rows and {result['metrics_rows_written']} monthly metric rows written",
        err=True,
    )


@click.command()
@common_options
@policy_option
@click.option("--allow-partial", is_flag=True,
              help="Backfill even though the last sync failed or was interrupted (MRR from partial data).")
def backfill(config_path, db, policy_name, allow_partial):
    """Rebuild the whole MRR history from the stored invoices and subscriptions. No network.

    Refuses while the last sync failed for a stream or was interrupted: MRR
    rebuilt from a partial copy would be published as if complete. Run `sync`
    until it succeeds, or pass --allow-partial.

    \b
    Example:
      billing-connector sync --db billing.db && billing-connector backfill --db billing.db
    """
    settings = settings_from(config_path, db=db)
    result, warning = app.mrr.backfill(settings, policy_name, allow_partial=allow_partial)
    warn(warning)
    click.echo(
        f"backfilled: {result['mapped_customers']} customers mapped, {result['customers']} recomputed, "
        f"{result['rows_written']} rows written",
        err=True,
    )


def register(main: click.Group) -> None:
    main.add_command(mrr)
    main.add_command(backfill)
