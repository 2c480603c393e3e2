"""`demo`: the bundled demo account, synced end to end on this machine."""

from __future__ import annotations

import click

from .. import app
from ..report.html import write_report
from ..report.summary import format_summary, summary_rows
from .options import common_options, global_db, settings_from


@click.command()
@common_options
@click.option("--customers", default=300, show_default=True, help="Size of the synthetic account.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic account (same seed, same account).")
@click.option(
    "--report", "report_path", default="demo-report.html", show_default=True, type=click.Path(dir_okay=False),
    help="Where to write the HTML report of the demo account's MRR.",
)
def demo(config_path, db, customers, seed, report_path):
    """Start the bundled demo Stripe account on 127.0.0.1, sync it, show its MRR.

    No key or network needed: the demo server speaks the Stripe API for a
    deterministic synthetic SaaS account and stops when the command ends. The
    sync computes MRR as every nightly sync does; the command prints what
    arrived, current MRR per currency and the last 12 months with movements,
    and writes an HTML report.

    \b
    Example:
      billing-connector demo --db demo.db --report demo-report.html
    """
    settings = settings_from(config_path, db=global_db(db) or "demo.db")
    report, store = app.demo(settings, customers=customers, seed=seed, quiet=False)  # progress on a terminal
    try:
        click.echo(f"Synced the demo account into {settings.db} in {report.seconds:.1f}s:")
        for table, rows in store.table_counts().items():
            click.echo(f"  {table:<20} {rows:>8,}")
        if report.failures:
            stream, error = next(iter(report.failures.items()))
            raise SystemExit(error.exit_code)
        click.echo("")
        for line in format_summary(summary_rows(store)):
            click.echo(line)
        path = write_report(store, report_path)
        click.echo(f"\nHTML report: {path}")
    finally:
        store.close()


def register(main: click.Group) -> None:
    main.add_command(demo)
