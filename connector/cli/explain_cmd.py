"""`explain`: what makes up one customer's MRR on a day, and what is behind each movement."""

from __future__ import annotations

import click

from ..mrr import engine, reporting_view
from ..output_values import iso_utc
from ..store import opened
from ..sync_health import last_sync
from .mrr_cmds import _parse_day
from .conversion import conversion_options, reporting_rates
from .options import common_options, settings_from
from .output import json_row, output_options, print_json, print_rows, warn

EXPLAIN_SECTIONS = ("mrr", "segments", "movements", "unplaced", "events", "provider_mrr")
# Headings of the table output ("counted": what the policy counts on the day).
_TITLES = {"segments": "segments (counted: what the policy counts on the day; items and invoice lines never both)",
           "unplaced": "not placed by the rules",
           "provider_mrr": "the provider's own MRR per subscription, as last synced, beside ours (a reconciliation "
                           "aid, never an input)"}


def _explain_sections(report) -> dict[str, list[dict]]:
    """The explanation as tables (money still in ``*_minor`` columns; the output layer converts)."""
    return {
        "mrr": report["mrr"],
        "segments": [
            {k: s[k] for k in ("source_type", "source_id", "subscription_id", "currency", "start_date", "end_date",
                               "amount_minor", "interval", "interval_count", "counted")} | {"tags": s["tags"]}
            for s in report["segments"]
        ],
        "movements": [
            {k: m[k] for k in ("day", "currency", "movement", "amount_minor", "mrr_after_minor", "cause")}
            | {"sources": m["source_ids"]} for m in report["movements"]
        ],
        "unplaced": report["unplaced"],
        "events": [{**event, "created": iso_utc(event["created"])} for event in report["events"]],
        "provider_mrr": report["provider_mrr"],
    }


@click.command()
@common_options
@output_options
@click.argument("customer_id")
@click.option("--date", "on_date", default=None, help="Day whose MRR is explained (YYYY-MM-DD; default today, UTC).")
@click.option("--section", type=click.Choice(EXPLAIN_SECTIONS), default=None,
              help="Only this part (CSV prints one table: default segments). Example: --section movements")
@conversion_options
def explain(config_path, db, output_format, customer_id, on_date, section, rates, reporting_currency, refresh_rates):
    """The items, invoice lines, discounts and events behind a customer's MRR and movements.

    \b
    Example:
      billing-connector explain cus_123 --date 2024-06-30 --format json
      billing-connector explain cus_123 --format csv --section movements
    """
    from ..mrr.explain import explain as explain_customer

    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    day = _parse_day(on_date, "--date") or engine.today_utc()
    table = reporting_rates(settings, rates, refresh_rates)
    with opened(settings.db, read_only=True) as store:
        last = last_sync(store)
        report = explain_customer(store, customer_id, day)
        if table is not None:
            _add_converted(report, store, table, customer_id, day)
    if output_format == "json":
        print_json(_explain_json(report, last, section))
        return
    warn(last["warning"])
    sections = _explain_sections(report)
    if output_format == "csv":
        print_rows(sections[section or "segments"], "csv")
        return
    click.echo(f"customer {customer_id} on {report['date']} (policy {report['policy']})")
    for name in [section] if section else EXPLAIN_SECTIONS:
        if name == "provider_mrr" and not sections[name] and not section:
            continue   # a provider without its own MRR figure (Stripe)
        click.echo(f"\n{_TITLES.get(name, name)}:")
        print_rows(sections[name], "table")
    if table is not None and not section:
        click.echo(f"\nmonths in {table.reporting_currency.upper()} (one row per month, whatever the currency; fx apart):")
        print_rows(report["reporting_months"], "table")


def _explain_json(report, last, section: str | None) -> dict:
    document = {
        "customer_id": report["customer_id"],
        "date": report["date"],
        "policy": report["policy"],
        "partial": last["partial"],
        "warning": last["warning"],
        "mrr": [json_row(row) for row in report["mrr"]],
        "segments": [json_row(segment) for segment in report["segments"]],
        "movements": [json_row(movement) for movement in report["movements"]],
        "months": [json_row(month) for month in report["months"]],
        "unplaced": [json_row(item) for item in report["unplaced"]],
        "events": _explain_sections(report)["events"],
        "provider_mrr": [json_row(row) for row in report["provider_mrr"]],
    }
    if "reporting_months" in report:
        document["reporting_months"] = [json_row(row) for row in report["reporting_months"]]
    if section:   # the chosen part only, next to what identifies it
        keep = ("customer_id", "date", "policy", "partial", "warning", section)
        document = {key: document[key] for key in keep}
    return document


def _add_converted(report: dict, store, table, customer_id: str, day) -> None:
    """The day's MRR rows with their value in the reporting currency and its rate, and the converted months."""
    for row in report["mrr"]:
        if row.get("mrr_minor") is not None and row.get("currency"):
            row |= {"reporting_currency": table.reporting_currency,
                    "reporting_mrr_minor": table.convert(row["mrr_minor"], row["currency"], day),
                    "rate_source": table.sources([row["currency"]], day) or "same currency"}
    report["reporting_months"] = reporting_view.customer_months(store, table, customer_id=customer_id)


def register(main: click.Group) -> None:
    main.add_command(explain)
