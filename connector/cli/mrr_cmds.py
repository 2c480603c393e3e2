"""`mrr current|history|customers|metrics|rebuild` and `backfill`.

Thin: parse, call the MRR package or the refresh chain, print through the
output layer (cli/output.py). Reads open the store read-only, show the stored
facts under the store's policy (named on stderr), and say in one line when the
last sync was partial; with `--policy NAME` other than the stored one, figures
are computed on the fly from the stored segments and nothing is written
(connector.mrr.views).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import click

from ..errors import ConfigError
from .. import refresh
from ..mrr import engine, queries, reporting_view, views
from ..mrr.reporting_view import CURRENCY_VIEW, REPORTING_VIEW
from ..mrr.model import SEGMENTS_TABLE
from ..mrr.policy import load_policy
from ..output_values import money
from ..store import opened
from ..sync.progress import one_phase
from ..sync_health import last_sync
from . import mrr_cohort_cmds
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


def _parse_day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a date: use YYYY-MM-DD") from None


def _parse_month(text: str | None, flag: str) -> str | None:
    if text is None:
        return None
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return text
    raise ConfigError(f"{flag} {text!r} is not a month: use YYYY-MM")


def _load_policy(settings, name: str | None):
    return load_policy(name or settings.policy, settings.mrr_rules)


@contextmanager
def _reading(settings, policy_name: str | None, output_format: str, project_to: date | None = None):
    """The facts a read shows (connector.mrr.views.facts_for), named on stderr for people, and the
    envelope every JSON answer opens with (policy, projection, partial data)."""
    with opened(settings.db, read_only=True) as store:
        policy = _load_policy(settings, policy_name) if policy_name is not None else None
        last = last_sync(store)
        if output_format != "json":
            warn(last["warning"])
        try:
            with views.facts_for(store, policy, project_to=project_to) as (facts, info):
                envelope = {"policy": info.name, "projection": info.projection,
                            "partial": last["partial"], "warning": last["warning"]}
                yield facts, info, envelope
            # named once the read succeeded: a failed read prints its error alone
            if info.computed_on_the_fly and not info.projection:
                click.echo(f"computed under policy {info.name!r} from the stored segments (nothing written)",
                           err=True)
            elif output_format == "table" and not info.projection:
                as_of = engine.stored_policy(store).as_of
                click.echo(f"policy {info.name!r} (the stored facts, as of {as_of})", err=True)
        except views.NoMrrData as exc:
            if not store.db[SEGMENTS_TABLE].exists():
                raise ConfigError("the store holds no revenue segments yet: run `billing-connector backfill` first") \
                    from None
            raise ConfigError(str(exc)) from None


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
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    day = _parse_day(on_date, "--date") or engine.today_utc()
    table = reporting_rates(settings, rates, refresh_rates)
    with _reading(settings, policy_name, output_format, project_to=day) as (facts, info, envelope):
        rows = queries.current_mrr(facts, day)
        converted = reporting_view.current(facts, table, day) if table else None
    if info.projection and output_format == "table":
        click.echo(f"projection: MRR on {day.isoformat()} if nothing changes after the stored as-of day "
                   f"(policy {info.name!r})")
    # CSV carries the label on every row; a table has the heading above, JSON the envelope
    label = {"policy": info.name, "projection": info.projection} if output_format == "csv" else {}
    out = [{"date": day.isoformat(), **row, **label} for row in rows]
    envelope = {**envelope, "date": day.isoformat()}
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
    from ..mrr.fx import convert_customer_months, month_end

    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    if grain == "day":
        first, last = _parse_day(since, "--since"), _parse_day(until, "--until")
        project_to = last
    else:
        first, last = _parse_month(since, "--since"), _parse_month(until, "--until")
        project_to = date.fromisoformat(month_end(last)) if last else None
    table = reporting_rates(settings, rates, refresh_rates)
    if by is not None:
        if grain == "day":
            raise ConfigError("--by works with --grain month")
        policy = _load_policy(settings, policy_name) if policy_name is not None else None
        rows = mrr_cohort_cmds.segment_rows(settings, policy, by, first, last, table)
        print_rows(rows, output_format, envelope={"grain": grain, "by": by, **_reporting_envelope(table)})
        return
    with _reading(settings, policy_name, output_format, project_to=project_to) as (facts, info, envelope):
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
                rows = [{**r, "fx_minor": None, "view": CURRENCY_VIEW, "rate_source": None} for r in rows] + converted
        else:
            rows = queries.history_by_month(facts, first, last)
            if table is not None:
                rows = [{**r, "fx_minor": None, "view": CURRENCY_VIEW, "rate_source": None} for r in rows]
                rows += reporting_view.history(facts, table, first, last)
    if info.projection:
        if output_format == "table":
            click.echo(f"projection: MRR history through {project_to.isoformat()} if nothing changes after the "
                       f"stored as-of day (policy {info.name!r})")
        elif output_format == "csv":   # no heading in CSV: every row carries the label
            rows = [{**row, "policy": info.name, "projection": True} for row in rows]
    print_rows(rows, output_format, envelope={**envelope, "grain": grain, **_reporting_envelope(table)})


def _reporting_envelope(table) -> dict:
    return {} if table is None else {"reporting_currency": table.reporting_currency.upper()}


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
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    first, last = _parse_month(since, "--since"), _parse_month(until, "--until")
    table = reporting_rates(settings, rates, refresh_rates)
    with _reading(settings, policy_name, output_format) as (facts, _info, envelope):
        rows = queries.customer_months(facts, first, last, customer_id)
        converted = reporting_view.customer_months(facts, table, first, last, customer_id) if table else []
    out = [
        {"customer_id": r["customer_id"], "month": r["month"], "currency": r["currency"],
         "mrr_minor": r["mrr_minor"], "movement": r["movement"],
         "movement_amount_minor": r["movement_minor"] if r["movement"] else None, "cause": r["cause"],
         **({"fx_minor": None, "view": CURRENCY_VIEW, "rate_source": None} if table else {})}
        for r in rows
    ]
    converted = [{**row, "cause": None} for row in converted]
    print_rows(out + converted, output_format, envelope={**envelope, **_reporting_envelope(table)})


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
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    first, last = _parse_month(since, "--since"), _parse_month(until, "--until")
    table = reporting_rates(settings, rates, refresh_rates)
    with _reading(settings, policy_name, output_format) as (facts, _info, envelope):
        rows = queries.monthly_metrics(facts, first, last)
        if table is not None:
            rows = [{**r, "fx_minor": None, "view": CURRENCY_VIEW, "rate_source": None} for r in rows]
            rows += [{**r, "policy": envelope["policy"]} for r in reporting_view.metrics(facts, table, first, last)]
    print_rows(rows, output_format, envelope={**envelope, **_reporting_envelope(table)})


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
    switch_to = _load_policy(settings, policy_name) if policy_name is not None else None
    configured = _load_policy(settings, None)
    with opened(settings.db, create=False) as store:
        policy = refresh.policy_for(store, configured, switch_to)
        with one_phase("mrr"):
            result = refresh.refresh(store, policy, recompute_all=True)
    click.echo(
        f"rebuilt MRR under policy {policy.name!r} (now the store's policy): {result['customers']} customers, "
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
    switch_to = _load_policy(settings, policy_name) if policy_name is not None else None
    configured = _load_policy(settings, None)
    with opened(settings.db, create=False) as store:
        last = last_sync(store)
        if last["partial"] and not allow_partial:
            raise ConfigError(f"not backfilling: {last['warning']}; or pass --allow-partial")
        warn(last["warning"])
        with one_phase("mrr"):
            result = refresh.backfill(store, configured, switch_to)
    click.echo(
        f"backfilled: {result['mapped_customers']} customers mapped, {result['customers']} recomputed, "
        f"{result['rows_written']} rows written",
        err=True,
    )


mrr_cohort_cmds.register(mrr, common_options, policy_option, since_option, until_option, _reading, _parse_month)


def register(main: click.Group) -> None:
    main.add_command(mrr)
    main.add_command(backfill)
