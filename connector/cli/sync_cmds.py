"""`sync`, `status` and `auth`."""

from __future__ import annotations

import csv
import json
import logging

import click

from .. import app
from ..errors import EXIT_OK, EXIT_PERMISSION
from .options import common_options, format_option, settings_from


def _configure_logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING,
        format="warning: %(message)s",
        force=True,
    )


@click.command()
@common_options
@click.option("--full-refresh", is_flag=True, help="Re-read every stream in full (rows gone upstream are marked _deleted).")
@click.option("--streams", default=None, help="Comma-separated streams to sync (default: all), e.g. customers,subscriptions.")
@click.option(
    "--max-requests-per-second", type=float, default=None,
    help="Request rate ceiling (default: 80% of Stripe's limit for the key's mode).",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors (for cron).")
@click.option(
    "--skip-mrr", is_flag=True,
    help="Only copy the raw data; the neutral tables and MRR are brought up to date by the next sync or `backfill`.",
)
def sync(config_path, db, full_refresh, streams, max_requests_per_second, quiet, skip_mrr):
    """Copy the Stripe account into the store: in full the first time, then only what changed.

    \b
    Example (nightly, from cron):
      STRIPE_API_KEY=rk_live_... billing-connector sync --db /data/billing.db --quiet
    """
    _configure_logging(quiet)
    settings = settings_from(config_path, db=db, streams=streams, max_requests_per_second=max_requests_per_second)
    report, store = app.sync(settings, full_refresh=full_refresh, quiet=quiet, skip_mrr=skip_mrr)
    try:
        if not quiet:
            counts = store.table_counts()
            click.echo(f"synced {settings.db} in {report.seconds:.1f}s", err=True)
            for table, rows in counts.items():
                click.echo(f"  {table:<20} {rows:>9,}", err=True)
            if report.mrr is not None:
                click.echo(f"  MRR refreshed for {report.mrr['customers']:,} customers", err=True)
            if report.events_seen:
                click.echo(f"  events applied: {report.events_seen:,}, objects re-read: {report.objects_refetched:,}", err=True)
    finally:
        store.close()
    if report.failures:
        first = next(iter(report.failures.values()))
        for stream, error in report.failures.items():
            click.echo(f"error: {stream}: {error}", err=True)
        raise SystemExit(first.exit_code)
    raise SystemExit(EXIT_OK)


def _machine_output(info, header, rows, output_format, as_json) -> bool:
    """Print JSON (the whole document) or CSV (the per-stream rows); False for a table."""
    if as_json or output_format == "json":
        click.echo(json.dumps(info, indent=2))
        return True
    if output_format == "csv":
        writer = csv.writer(click.get_text_stream("stdout"))
        writer.writerow(header)
        writer.writerows(rows)
        return True
    return False


@click.command()
@common_options
@format_option
@click.option("--json", "as_json", is_flag=True, help="Shortcut for --format json.")
def status(config_path, db, output_format, as_json):
    """Show what the store holds per stream: rows, phase, cursor, last run. No network.

    \b
    Example:
      billing-connector status --db billing.db
    """
    settings = settings_from(config_path, db=db)
    info = app.status(settings)
    rows = [[t, s["rows"], s["phase"] or "", s["events_cursor"] or "", s["updated_at"] or ""] for t, s in info["streams"].items()]
    if _machine_output(info, ["stream", "rows", "phase", "events_cursor", "updated_at"], rows, output_format, as_json):
        return
    click.echo(f"store {info['db']}: account {info['account_id']} ({info['mode']} mode), API {info['api_version']}")
    click.echo(f"last sync finished at {info['last_sync_finished_at']} (ok={info['last_sync_ok']})")
    click.echo(f"{'stream':<20} {'rows':>9}  {'phase':<12} events_cursor")
    for table, s in info["streams"].items():
        click.echo(f"{table:<20} {s['rows']:>9,}  {s['phase'] or '-':<12} {s['events_cursor'] or '-'}")
    if info["unclassified"]:
        click.echo("unclassified (kept in the store, left out of MRR; see docs/schema.md):")
        for item in info["unclassified"]:
            amount = f"{item['amount_minor']} {item['currency']} minor units" if item.get("currency") else ""
            click.echo(f"  {item['object_type']:<16} {item['count']:>6,}  {item['reason']}  {amount}".rstrip())
    if info.get("mrr_unplaced"):
        click.echo("not placed by the MRR rules (left out of MRR; see `explain CUSTOMER`):")
        for item in info["mrr_unplaced"]:
            amount = f"{item['amount_minor']} {item['currency']} minor units" if item.get("currency") else ""
            click.echo(f"  {item['object_type']:<17} {item['count']:>6,}  {item['reason']}  {amount}".rstrip())


@click.command()
@common_options
@format_option
@click.option("--json", "as_json", is_flag=True, help="Shortcut for --format json.")
def auth(config_path, db, output_format, as_json):
    """Check the API key: account, mode, key type and which streams it may read.

    \b
    Example:
      STRIPE_API_KEY=rk_live_... billing-connector auth
    """
    settings = settings_from(config_path, db=db)
    info = app.auth(settings)
    if not _machine_output(info, ["stream", "access"], list(info["streams"].items()), output_format, as_json):
        click.echo(f"account {info['account_id']} ({info['mode']} mode) with a {info['key']}")
        for stream, verdict in info["streams"].items():
            click.echo(f"  {stream:<18} {verdict}")
    refused = [stream for stream, verdict in info["streams"].items() if verdict != "ok"]
    if refused:
        click.echo(f"error: the key may not read {', '.join(refused)}: grant Read on them to the restricted key", err=True)
        raise SystemExit(EXIT_PERMISSION)


def register(main: click.Group) -> None:
    main.add_command(sync)
    main.add_command(status)
    main.add_command(auth)
