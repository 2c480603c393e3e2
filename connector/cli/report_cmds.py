"""`report`: the HTML report, or the terminal summary when no --html file is given."""

from __future__ import annotations

import json

import click

from ..mrr.policy import load_policy
from ..report.html import write_report
from ..report.summary import format_summary, summary_rows
from ..store import open_store
from .options import common_options, settings_from


@click.command()
@common_options
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Write a self-contained HTML report (charts, metrics, one section per currency) to this file.")
@click.option("--policy", default=None,
              help="MRR policy preset (default, stripe, chartmogul, profitwell, chargebee), computed on the fly; "
              "default: the store's policy.")
@click.option("--json", "as_json", is_flag=True, help="Print the terminal summary as JSON instead of text.")
def report(config_path, db, html_path, policy, as_json):
    """MRR per currency: the last 12 months in the terminal, or the full HTML report.

    \b
    Examples:
      billing-connector report --html mrr.html
      billing-connector report --html mrr-chartmogul.html --policy chartmogul
      billing-connector report            # last 12 months in the terminal
    """
    settings = settings_from(config_path, db=db)
    rules = load_policy(policy, settings.mrr_rules) if policy else None   # None: the store's own policy
    store = open_store(settings.db, read_only=True)
    try:
        if html_path:
            path = write_report(store, html_path, rules)
            click.echo(f"wrote {path}", err=True)
            return
        summary = summary_rows(store, rules)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo("\n".join(format_summary(summary)))


def register(main: click.Group) -> None:
    main.add_command(report)
