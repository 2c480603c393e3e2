"""`demo`: the bundled demo account, synced end to end on this machine."""

from __future__ import annotations

import click

from .. import app
from ..report.html import write_report
from ..report.summary import format_summary, summary_rows
from ..sync_health import last_sync
from ..sync_summary import exit_code_of, sync_summary
from .options import common_options, global_db, settings_from
from .output import output_options, print_csv, print_json
from .report_cmds import report_csv_rows, report_json


@click.command()
@common_options
@output_options
@click.option("--customers", default=300, show_default=True, help="Size of the synthetic account.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic account (same seed, same account).")
@click.option(
    "--report", "report_path", default="demo-report.html", show_default=True, type=click.Path(dir_okay=False),
    help="Where to write the HTML report of the demo account's MRR.",
)
def demo(config_path, db, output_format, customers, seed, report_path):
    """Start the bundled demo Stripe account on 127.0.0.1, sync it, show its MRR.

    No key or network needed: the demo server speaks the Stripe API for a
    deterministic synthetic SaaS account and stops when the command ends. The
    sync computes MRR as every nightly sync does; the command prints what
    arrived, current MRR per currency and the last 12 months with movements,
    and writes an HTML report.

    \b
    Examples:
      billing-connector demo --db demo.db --report demo-report.html
      billing-connector demo --db demo.db --format json > demo.json
    """
    settings = settings_from(config_path, db=global_db(db) or "demo.db")
    # progress on a terminal for people; machine formats keep stderr quiet
    report, store = app.demo(settings, customers=customers, seed=seed, quiet=output_format != "table")
    try:
        code = exit_code_of(report)
        counts = store.table_counts()
        if report.failures and output_format == "table":
            stream, error = next(iter(report.failures.items()))
            click.echo(f"error: {stream}: {error}", err=True)
            raise SystemExit(code)
        summary = summary_rows(store) if not report.failures else None
        path = write_report(store, report_path) if summary is not None else None
        if output_format == "json":
            print_json({
                "sync": sync_summary(settings.db, report, counts, code),
                "mrr": report_json(summary, last_sync(store)) if summary is not None else None,
                "html_report": str(path) if path is not None else None,
            })
        elif output_format == "csv":
            print_csv(report_csv_rows(summary) if summary is not None else [])
        else:
            click.echo(f"Synced the demo account into {settings.db} in {report.seconds:.1f}s:")
            for table, rows in counts.items():
                click.echo(f"  {table:<20} {rows:>8,}")
            click.echo("")
            for line in format_summary(summary):
                click.echo(line)
            click.echo(f"\nHTML report: {path}")
    finally:
        store.close()
    raise SystemExit(code)

def register(main: click.Group) -> None:
    main.add_command(demo)
