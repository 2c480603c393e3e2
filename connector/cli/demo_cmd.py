"""`demo`: the bundled demo account, synced end to end on this machine."""

from __future__ import annotations

import click

from .. import app
from .options import common_options, settings_from


@click.command()
@common_options
@click.option("--customers", default=300, show_default=True, help="Size of the synthetic account.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic account (same seed, same account).")
def demo(config_path, db, customers, seed):
    """Start the bundled demo Stripe account on 127.0.0.1, sync it into demo.db, show what arrived.

    No key or network needed: the demo server speaks the Stripe API for a
    deterministic synthetic SaaS account and stops when the command ends.

    \b
    Example:
      billing-connector demo --db demo.db
    """
    settings = settings_from(config_path, db=db or "demo.db")
    report, store = app.demo(settings, customers=customers, seed=seed)
    try:
        click.echo(f"Synced the demo account into {settings.db} in {report.seconds:.1f}s:")
        for table, rows in store.table_counts().items():
            click.echo(f"  {table:<20} {rows:>8,}")
    finally:
        store.close()
    if report.failures:
        stream, error = next(iter(report.failures.items()))
        raise SystemExit(error.exit_code)


def register(main: click.Group) -> None:
    main.add_command(demo)
