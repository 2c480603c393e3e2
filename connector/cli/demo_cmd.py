"""`demo`: the bundled demo account (Stripe) or fake site (Chargebee), synced end to end on this machine."""

from __future__ import annotations

import click

from .. import app
from ..config import PROVIDERS
from ..sync_summary import exit_code_of, sync_summary
from .options import common_options, global_db, settings_from
from .output import output_options, print_csv, print_json
from .report_cmds import report_csv_rows, report_json

# Customers of each demo by default: the Chargebee site is read under a test site's
# per-minute budget, so its default stays within one minute of requests.
DEFAULT_CUSTOMERS = {"stripe": 300, "chargebee": 48}


@click.command()
@common_options
@output_options
@click.option("--provider", type=click.Choice(PROVIDERS), default="stripe", show_default=True,
              help="Which demo: the Stripe account, or the fake Chargebee site (read under its per-minute budget).")
@click.option("--customers", default=None, type=int,
              help="Size of the synthetic account (default 300 for Stripe, 48 for Chargebee).")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic account (same seed, same account).")
@click.option(
    "--report", "report_path", default="demo-report.html", show_default=True, type=click.Path(dir_okay=False),
    help="Where to write the HTML report of the demo account's MRR.",
)
def demo(config_path, db, output_format, provider, customers, seed, report_path):
    """Start the bundled demo Stripe account (or Chargebee site) on 127.0.0.1, sync it, show its MRR.

    No key or network needed: the demo server speaks the Stripe API (or
    Chargebee's, with `--provider chargebee`) for a deterministic synthetic SaaS
    account and stops when the command ends. The sync computes MRR as every
    nightly sync does; the command prints what arrived, current MRR per
    currency and the last 12 months with movements, and writes an HTML report.
    The Chargebee demo shows MRR on the fake site's day, beside Chargebee's own
    `mrr` figures.

    \b
    Examples:
      billing-connector demo --db demo.db --report demo-report.html
      billing-connector demo --db demo.db --format json > demo.json
      billing-connector demo --provider chargebee --db demo-chargebee.db
    """
    customers = customers if customers is not None else DEFAULT_CUSTOMERS[provider]
    default_db = "demo.db" if provider == "stripe" else f"demo-{provider}.db"
    settings = settings_from(config_path, db=global_db(db) or default_db)
    # progress on a terminal for people; machine formats keep stderr quiet
    run = app.run_demo(settings, provider=provider, customers=customers, seed=seed, quiet=output_format != "table",
                   report_path=report_path)
    report, counts, summary, chargebee = run.report, run.counts, run.summary, run.chargebee
    code = exit_code_of(report)
    if report.failures and output_format == "table":
        stream, error = next(iter(report.failures.items()))
        click.echo(f"error: {stream}: {error}", err=True)
        raise SystemExit(code)
    if output_format == "json":
        print_json({
            "sync": sync_summary(settings.db, report, counts, code),
            "mrr": report_json(summary, run.last) if summary is not None else None,
            "html_report": str(run.html_path) if run.html_path is not None else None,
            **({"provider_mrr": run.reconciliation} if chargebee is not None else {}),
        })
    elif output_format == "csv":
        print_csv(report_csv_rows(summary) if summary is not None else [])
    else:
        from ..report.money import format_minor
        from ..report.summary import format_summary

        click.echo(f"Synced the demo account into {settings.db} in {report.seconds:.1f}s:")
        if chargebee is not None:
            click.echo(f"  site {chargebee.site}: budget {chargebee.budget_per_minute} requests/minute, "
                       f"{report.requests.get('requests', 0)} requests, busiest minute "
                       f"{chargebee.busiest_minute}, 429s {chargebee.server_429s}")
        for table, rows in counts.items():
            click.echo(f"  {table:<20} {rows:>8,}")
        click.echo("")
        if chargebee is not None:
            click.echo(f"MRR on the site's day, {run.as_of.isoformat()}, beside Chargebee's own `mrr`:")
            for row in run.reconciliation:
                currency = row["currency"]
                click.echo(f"  {currency}: ours {format_minor(row['ours']['amount_minor'], currency)}, "
                           f"Chargebee's {format_minor(row['chargebee']['amount_minor'], currency)}")
            click.echo("")
        for line in format_summary(summary):
            click.echo(line)
        click.echo(f"\nHTML report: {run.html_path}")
    raise SystemExit(code)


def register(main: click.Group) -> None:
    main.add_command(demo)
