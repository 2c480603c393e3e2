"""`report`: the HTML report, or the terminal summary when no --html file is given."""

from __future__ import annotations

import click

from ..mrr.policy import load_policy
from ..report.html import write_report
from ..report.summary import format_summary, summary_rows
from ..store import opened
from ..sync_health import last_sync
from .conversion import conversion_options, reporting_rates
from .options import common_options, settings_from
from .output import json_row, major_row, output_options, print_csv, print_json, warn

_DISPLAY_ONLY = ("mrr",)   # summary_rows' preformatted text; the output layer formats money itself


def _json_block(block: dict) -> dict:
    return {
        **json_row({k: v for k, v in block.items() if k not in ("months", *_DISPLAY_ONLY)}),
        "months": [json_row({"currency": block["currency"], **{k: v for k, v in row.items() if k not in _DISPLAY_ONLY}})
                   for row in block["months"]],
    }


def report_json(summary: dict, last: dict) -> dict:
    """The `report --format json` document (schema ``#/$defs/report``); `demo --format json` embeds it.
    With a reporting currency, ``reporting`` holds the converted block (its months with ``fx``)."""
    document = {
        **{k: summary[k] for k in ("as_of", "policy", "policy_fingerprint", "computed_through", "computed_as_of")},
        "partial": last["partial"],
        "warning": last["warning"],
        "currencies": [_json_block(block) for block in summary["currencies"]],
    }
    if summary.get("reporting"):
        document["reporting"] = _json_block(summary["reporting"])
    return document


def report_csv_rows(summary: dict) -> list[dict]:
    """One row per currency and month: the CSV table of `report` and `demo`; with a reporting currency, its
    rows first (``view`` = reporting, with ``fx``), then the currencies' (``view`` = currency)."""
    converted = [(summary["reporting"], "reporting")] if summary.get("reporting") else []
    blocks = converted + [(block, "currency") for block in summary["currencies"]]
    return [
        major_row({"currency": block["currency"], **{k: v for k, v in row.items() if k not in _DISPLAY_ONLY},
                   **({"fx_minor": row.get("fx_minor"), "view": view} if converted else {})})
        for block, view in blocks
        for row in block["months"]
    ]


@click.command()
@common_options
@output_options
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Write a self-contained HTML report (charts, metrics, one section per currency) to this file.")
@click.option("--policy", default=None,
              help="MRR policy preset (default, stripe, chartmogul, profitwell, chargebee), computed on the fly; "
              "default: the store's policy.")
@conversion_options
def report(config_path, db, output_format, html_path, policy, rates, reporting_currency, refresh_rates):
    """MRR per currency: the last 12 months in the terminal, or the full HTML report.

    \b
    Examples:
      billing-connector report --html mrr.html --reporting-currency USD
      billing-connector report --html mrr-chartmogul.html --policy chartmogul
      billing-connector report            # last 12 months in the terminal
      billing-connector report --format csv > last-12-months.csv
    """
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    rules = load_policy(policy, settings.mrr_rules) if policy else None
    table = reporting_rates(settings, rates, refresh_rates)   # None: the store's own policy
    with opened(settings.db, read_only=True) as store:
        last = last_sync(store)
        if output_format != "json":
            warn(last["warning"])
        if html_path:
            path = write_report(store, html_path, rules, rates=table)
            click.echo(f"wrote {path}", err=True)
            return
        summary = summary_rows(store, rules, rates=table)
    if output_format == "json":
        print_json(report_json(summary, last))
    elif output_format == "csv":
        print_csv(report_csv_rows(summary))
    else:
        click.echo("\n".join(format_summary(summary)))


def register(main: click.Group) -> None:
    main.add_command(report)
