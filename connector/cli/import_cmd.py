"""`import subscription-periods`: MRR history from a spreadsheet, validated before any store opens."""

from __future__ import annotations

import click

from .. import refresh
from ..mrr import engine
from ..store import opened
from . import mrr_cmds
from .mrr_cmds import policy_option
from .options import common_options, settings_from

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
    # one policy loader (tests replace it there); a bad policy is refused before the store is touched
    switch_to = mrr_cmds._load_policy(settings, policy_name) if policy_name is not None else None
    configured = mrr_cmds._load_policy(settings, None)
    with opened(settings.db) as store:
        policy = refresh.policy_for(store, configured, switch_to)
        before = store.current_seq()
        written = write_subscription_periods(store, periods)
        result = refresh.refresh(store, policy, also=engine.customers_changed_since(store, before))
    click.echo(f"imported {written} segment rows; MRR updated for {result['customers']} customers", err=True)


def register(main: click.Group) -> None:
    main.add_command(import_group)
