"""`mrr current|history|customers|metrics|rebuild`, `explain`, `import subscription-periods`, `backfill`.

Thin: parse, call the MRR package or the refresh chain, print. Data goes to
stdout (table, json or csv; amounts as exact decimals in major units next to a
`currency` column), messages to stderr. Reads show the stored facts under the
store's policy (named on stderr); with `--policy NAME` other than the stored
one, figures are computed on the fly from the stored segments and nothing is
written (connector.mrr.views).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import click

from ..errors import ConfigError
from .. import refresh
from ..mrr import engine, queries, views
from ..mrr.amounts import in_major_units, major
from ..mrr.model import SEGMENTS_TABLE
from ..store import open_store
from .options import common_options, format_option, settings_from

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
    try:
        from ..mrr.policy import load_policy
    except ImportError as exc:
        raise ConfigError(f"the MRR policy module is not available ({exc})") from None
    return load_policy(name or settings.policy, settings.mrr_rules)


@contextmanager
def _reading(settings, policy_name: str | None, output_format: str, project_to: date | None = None):
    """The facts a read shows (connector.mrr.views.facts_for), named on stderr for people."""
    store = open_store(settings.db, read_only=True)
    try:
        policy = _load_policy(settings, policy_name) if policy_name is not None else None
        try:
            with views.facts_for(store, policy, project_to=project_to) as (facts, info):
                yield facts, info
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
    finally:
        store.close()


def emit(rows: Sequence[dict[str, Any]], output_format: str) -> None:
    """Print rows as an aligned table, JSON (a list of objects) or CSV with a header."""
    if output_format == "json":
        click.echo(json.dumps(list(rows), indent=2))
        return
    if not rows:
        if output_format == "table":
            click.echo("(no rows)", err=True)
        return
    columns = list(rows[0].keys())
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
        return
    text = [[("" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(columns)]
    numeric = [all(_looks_numeric(r[i]) for r in text) for i in range(len(columns))]
    click.echo("  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(columns, widths, numeric)).rstrip())
    for r in text:
        click.echo("  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(r, widths, numeric)).rstrip())


def _looks_numeric(text: str) -> bool:
    return text == "" or text.lstrip("-").replace(".", "", 1).isdigit()


@click.group()
def mrr() -> None:
    """MRR now, its history, per-customer months, metrics, and rebuilds. No network.

    \b
    Example:
      billing-connector mrr history --grain month --since 2024-01
    """


@mrr.command()
@common_options
@format_option
@policy_option
@click.option("--date", "on_date", default=None, help="Day to report (YYYY-MM-DD; default today, UTC).")
@click.option("--rates", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CSV of exchange rates (currency,rate[,month]) to add a reporting-currency total.")
@click.option("--reporting-currency", default=None,
              help="Currency the --rates convert into (default: setting mrr.reporting_currency). Example: EUR")
def current(config_path, db, output_format, policy_name, on_date, rates, reporting_currency):
    """MRR and paying customers now, per currency (and converted with --rates).

    \b
    Example:
      billing-connector mrr current --rates rates.csv --reporting-currency EUR
    """
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    day = _parse_day(on_date, "--date") or engine.today_utc()
    table = _rates_table(settings, rates) if rates else None
    with _reading(settings, policy_name, output_format, project_to=day) as (facts, info):
        rows = queries.current_mrr(facts, day)
        converted = _converted_current(queries.current_mrr_by_customer(facts, day), table, day) if table else None
    if info.projection and output_format == "table":
        click.echo(f"projection: MRR on {day.isoformat()} if nothing changes after the stored as-of day "
                   f"(policy {info.name!r})")
    # machine formats carry the label on every row; a table has the heading above
    label = {} if output_format == "table" else {"policy": info.name, "projection": info.projection}
    out = [{"date": day.isoformat(), **row, **label} for row in rows]
    if table is None:
        emit(in_major_units(out), output_format)
        return
    per_currency, total = converted
    to = table.reporting_currency
    for row in out:
        row["reporting_currency"], row["reporting_mrr"] = to, major(per_currency[row["currency"]], to)
    printable = in_major_units(out)
    printable.append({"date": day.isoformat(), "currency": "total", "mrr": None, "customers": total["customers"],
                      **label, "reporting_currency": to, "reporting_mrr": major(total["mrr_minor"], to)})
    emit(printable, output_format)


def _converted_current(by_customer, table, day: date):
    """Each currency's and the total MRR of ``day`` in the reporting currency, at the day's rate."""
    from ..mrr.fx import convert_day

    month = day.isoformat()[:7]
    per_currency = {currency: convert_day([r for r in by_customer if r["currency"] == currency], table, month)["mrr_minor"]
                    for currency in {r["currency"] for r in by_customer}}
    return per_currency, convert_day(by_customer, table, month)


def _rates_table(settings, path):
    from ..mrr.fx import load_rates

    if not settings.reporting_currency:
        raise ConfigError("--rates needs a reporting currency: pass --reporting-currency or set mrr.reporting_currency")
    return load_rates(path, settings.reporting_currency)


@mrr.command()
@common_options
@format_option
@policy_option
@click.option("--grain", type=click.Choice(["day", "month"]), default="month", show_default=True,
              help="One row per day or per month (month = MRR on the month's last day).")
@since_option
@until_option
@click.option("--rates", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CSV of exchange rates (currency,rate[,month]): monthly history in the reporting currency, with fx.")
@click.option("--reporting-currency", default=None, help="Currency the --rates convert into. Example: USD")
def history(config_path, db, output_format, policy_name, grain, since, until, rates, reporting_currency):
    """One row per period: MRR, customers, each movement, net new MRR.

    \b
    Example:
      billing-connector mrr history --grain day --since 2024-06-01 --until 2024-06-30 --format csv
    """
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    if grain == "day":
        if rates:
            raise ConfigError("--rates works with --grain month")
        first, last = _parse_day(since, "--since"), _parse_day(until, "--until") or engine.today_utc()
    else:
        first, last = _parse_month(since, "--since"), _parse_month(until, "--until")
    table = _rates_table(settings, rates) if rates else None
    with _reading(settings, policy_name, output_format) as (facts, _info):
        if grain == "day":
            rows = queries.history_by_day(facts, first, last)
        elif table is not None:
            from ..mrr.fx import convert_customer_months

            rows = [r for r in convert_customer_months(queries.customer_months(facts), table)
                    if (first or "") <= r["period"] <= (last or "9999-99")]
        else:
            rows = queries.history_by_month(facts, first, last)
    emit(in_major_units(rows), output_format)


@mrr.command()
@common_options
@format_option
@policy_option
@click.option("--grain", type=click.Choice(["month"]), default="month", show_default=True, help="Per-customer rows per month.")
@since_option
@until_option
@click.option("--customer", "customer_id", default=None, help="Only this customer (the provider's id), e.g. cus_123.")
def customers(config_path, db, output_format, policy_name, grain, since, until, customer_id):
    """One row per customer per month, from their first month with MRR to their churn month.

    \b
    Example:
      billing-connector mrr customers --grain month --customer cus_123 --format csv
    """
    settings = settings_from(config_path, db=db)
    first, last = _parse_month(since, "--since"), _parse_month(until, "--until")
    with _reading(settings, policy_name, output_format) as (facts, _info):
        rows = queries.customer_months(facts, first, last, customer_id)
    out = [
        {"customer_id": r["customer_id"], "month": r["month"], "currency": r["currency"],
         "mrr_minor": r["mrr_minor"], "movement": r["movement"],
         "movement_amount_minor": r["movement_minor"] if r["movement"] else None, "cause": r["cause"]}
        for r in rows
    ]
    emit(in_major_units(out), output_format)


@mrr.command()
@common_options
@format_option
@policy_option
@click.option("--grain", type=click.Choice(["month"]), default="month", show_default=True, help="Metrics per month and currency.")
@since_option
@until_option
def metrics(config_path, db, output_format, policy_name, grain, since, until):
    """MRR, ARR, customers, ARPU, movements, churn rates, retention, quick ratio per month.

    Rates are exact ratios with 6 decimals (0.200000 = 20 %); docs/metrics.md defines each.

    \b
    Example:
      billing-connector mrr metrics --grain month --since 2024-01 --format json
    """
    settings = settings_from(config_path, db=db)
    first, last = _parse_month(since, "--since"), _parse_month(until, "--until")
    with _reading(settings, policy_name, output_format) as (facts, _info):
        rows = queries.monthly_metrics(facts, first, last)
    emit(in_major_units(rows), output_format)


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
    store = open_store(settings.db, create=False)
    try:
        policy = refresh.policy_for(store, configured, switch_to)
        result = refresh.refresh(store, policy, recompute_all=True)
    finally:
        store.close()
    click.echo(
        f"rebuilt MRR under policy {policy.name!r} (now the store's policy): {result['customers']} customers, "
        f"{result['rows_written']} rows and {result['metrics_rows_written']} monthly metric rows written",
        err=True,
    )


@click.command()
@common_options
@format_option
@click.argument("customer_id")
@click.option("--date", "on_date", default=None, help="Day whose MRR is explained (YYYY-MM-DD; default today, UTC).")
def explain(config_path, db, output_format, customer_id, on_date):
    """The items, invoice lines, discounts and events behind a customer's MRR and movements.

    \b
    Example:
      billing-connector explain cus_123 --date 2024-06-30 --format json
    """
    from ..mrr.explain import explain as explain_customer

    settings = settings_from(config_path, db=db)
    day = _parse_day(on_date, "--date") or engine.today_utc()
    store = open_store(settings.db, read_only=True)
    try:
        report = explain_customer(store, customer_id, day)
    finally:
        store.close()
    if output_format == "json":
        click.echo(json.dumps(report, indent=2, default=str))
        return
    click.echo(f"customer {customer_id} on {report['date']} (policy {report['policy']})", err=output_format == "csv")
    sections = (
        ("mrr", in_major_units(report["mrr"])),
        ("segments (counted: what the policy counts on the day; items and invoice lines never both)", in_major_units([
            {k: s[k] for k in ("source_type", "source_id", "subscription_id", "currency", "start_date", "end_date",
                               "amount_minor", "interval", "interval_count")}
            | {"counted": "yes" if s["counted"] else "no", "tags": ",".join(s["tags"])}
            for s in report["segments"]
        ])),
        ("movements", in_major_units([
            {k: m[k] for k in ("day", "currency", "movement", "amount_minor", "mrr_after_minor", "cause")}
            | {"sources": ",".join(m["source_ids"])} for m in report["movements"]
        ])),
        ("not placed by the rules", in_major_units(report["unplaced"])),
        ("events", report["events"]),
    )
    for title, rows in sections:
        click.echo(f"\n{title}:", err=output_format == "csv")
        emit(rows, output_format)


@click.group("import")
def import_group() -> None:
    """Import revenue from outside Stripe (a spreadsheet, another billing system).

    \b
    Example:
      billing-connector import subscription-periods periods.csv --currency EUR
    """


@import_group.command("subscription-periods")
@common_options
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--currency", required=True, help="ISO 4217 currency of monthly_amount (required), e.g. EUR.")
@click.option("--dry-run", is_flag=True, help="Validate the whole file and say what would be imported; write nothing.")
@policy_option
def subscription_periods(config_path, db, path, currency, dry_run, policy_name):
    """Import rows subscription_id,customer_id,start_date,end_date,monthly_amount and update MRR.

    End dates are exclusive (empty = still active); amounts in major units;
    commas, semicolons, tabs or pipes separate the columns. Any bad row is
    reported with its line number and nothing is imported (no store is created).

    \b
    Example:
      billing-connector import subscription-periods periods.csv --currency USD --dry-run
      billing-connector import subscription-periods periods.csv --currency USD --db billing.db
    """
    from ..mrr.importer import read_subscription_periods, write_subscription_periods

    settings = settings_from(config_path, db=db)
    periods = read_subscription_periods(path, currency)  # the whole file is valid before the store opens
    customers = len({period["customer_id"] for period in periods})
    if dry_run:
        click.echo(f"{path}: {len(periods)} periods for {customers} customers are valid; nothing written (--dry-run)", err=True)
        return
    switch_to = _load_policy(settings, policy_name) if policy_name is not None else None
    configured = _load_policy(settings, None)   # a bad policy is refused before the store is touched
    store = open_store(settings.db)
    try:
        policy = refresh.policy_for(store, configured, switch_to)
        before = store.current_seq()
        written = write_subscription_periods(store, periods)
        result = refresh.refresh(store, policy, also=engine.customers_changed_since(store, before))
    finally:
        store.close()
    click.echo(f"imported {written} segment rows; MRR updated for {result['customers']} customers", err=True)


@click.command()
@common_options
@policy_option
def backfill(config_path, db, policy_name):
    """Rebuild the whole MRR history from the stored invoices and subscriptions. No network.

    \b
    Example:
      billing-connector sync --db billing.db && billing-connector backfill --db billing.db
    """
    settings = settings_from(config_path, db=db)
    switch_to = _load_policy(settings, policy_name) if policy_name is not None else None
    configured = _load_policy(settings, None)
    store = open_store(settings.db, create=False)
    try:
        result = refresh.backfill(store, configured, switch_to)
    finally:
        store.close()
    click.echo(
        f"backfilled: {result['mapped_customers']} customers mapped, {result['customers']} recomputed, "
        f"{result['rows_written']} rows written",
        err=True,
    )


def register(main: click.Group) -> None:
    main.add_command(mrr)
    main.add_command(explain)
    main.add_command(import_group)
    main.add_command(backfill)
