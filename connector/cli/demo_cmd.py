"""`demo`: the bundled demo account (Stripe) or fake site (Chargebee), synced end to end on this machine."""

from __future__ import annotations

import click

from .. import app
from ..config import PROVIDERS
from ..mrr.provider_mrr import provider_mrr_totals
from ..mrr.queries import current_mrr
from ..output_values import money
from ..report.html import write_report
from ..report.money import format_minor
from ..report.summary import format_summary, summary_rows
from ..sync_health import last_sync
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
    quiet = output_format != "table"
    chargebee = None
    if provider == "chargebee":
        chargebee = app.demo_chargebee(settings, customers=customers, seed=seed, quiet=quiet)
        report, store, as_of = chargebee.report, chargebee.store, chargebee.site_day
    else:
        report, store = app.demo(settings, customers=customers, seed=seed, quiet=quiet)
        as_of = None
    try:
        code = exit_code_of(report)
        counts = store.table_counts()
        if report.failures and output_format == "table":
            stream, error = next(iter(report.failures.items()))
            click.echo(f"error: {stream}: {error}", err=True)
            raise SystemExit(code)
        summary = summary_rows(store, as_of=as_of) if not report.failures else None
        path = write_report(store, report_path) if summary is not None else None
        if output_format == "json":
            print_json({
                "sync": sync_summary(settings.db, report, counts, code),
                "mrr": report_json(summary, last_sync(store)) if summary is not None else None,
                "html_report": str(path) if path is not None else None,
                **({"provider_mrr": _reconciliation(store, as_of)} if chargebee is not None else {}),
            })
        elif output_format == "csv":
            print_csv(report_csv_rows(summary) if summary is not None else [])
        else:
            click.echo(f"Synced the demo account into {settings.db} in {report.seconds:.1f}s:")
            if chargebee is not None:
                click.echo(f"  site {chargebee.site}: budget {chargebee.budget_per_minute} requests/minute, "
                           f"{report.requests.get('requests', 0)} requests, busiest minute "
                           f"{chargebee.busiest_minute}, 429s {chargebee.server_429s}")
            for table, rows in counts.items():
                click.echo(f"  {table:<20} {rows:>8,}")
            click.echo("")
            if chargebee is not None:
                click.echo(f"MRR on the site's day, {as_of.isoformat()}, beside Chargebee's own `mrr`:")
                for row in _reconciliation(store, as_of):
                    currency = row["currency"]
                    click.echo(f"  {currency}: ours {format_minor(row['ours']['amount_minor'], currency)}, "
                               f"Chargebee's {format_minor(row['chargebee']['amount_minor'], currency)}")
                click.echo("")
            for line in format_summary(summary):
                click.echo(line)
            click.echo(f"\nHTML report: {path}")
    finally:
        store.close()
    raise SystemExit(code)


def _reconciliation(store, day) -> list[dict]:
    """Ours beside the provider's own total per currency (explain CUSTOMER shows it per subscription)."""
    theirs = provider_mrr_totals(store)
    ours = {row["currency"]: row["mrr_minor"] for row in current_mrr(store, day)}
    return [{"currency": currency.upper(), "ours": money(ours.get(currency, 0), currency),
             "chargebee": money(theirs.get(currency, 0), currency)}
            for currency in sorted(ours.keys() | theirs.keys())]


def register(main: click.Group) -> None:
    main.add_command(demo)
