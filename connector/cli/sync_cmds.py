"""`sync`, `status` and `auth`."""

from __future__ import annotations

import click

from .. import app
from ..errors import EXIT_PERMISSION, EXIT_REJECTED
from ..sync_summary import exit_code_of, requests_line, summary_lines, sync_summary
from .options import common_options, provider_options, quiet_logging, settings_from
from .output import output_options, print_csv, print_json, print_table, warn


@click.command()
@common_options
@output_options
@provider_options
@click.option("--full-refresh", is_flag=True, help="Re-read every stream in full (rows gone upstream are marked _deleted).")
@click.option("--streams", default=None, help="Comma-separated streams to sync (default: all), e.g. customers,subscriptions.")
@click.option(
    "--max-requests-per-second", type=float, default=None,
    help="Request rate ceiling (default: 80% of Stripe's limit for the key's mode).",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors (for cron); --format json still prints the summary.")
@click.option(
    "--skip-mrr", is_flag=True,
    help="Only copy the raw data; the neutral tables and MRR are brought up to date by the next sync or `backfill`.",
)
def sync(config_path, db, output_format, provider, site, full_refresh, streams, max_requests_per_second, quiet,
         skip_mrr):
    """Copy the Stripe account (or Chargebee site) into the store: in full the first time, then only what changed.

    Ends with a summary: per stream the rows created, updated and deleted, the
    requests, retries and 429s, and the seconds spent fetching, mapping and on
    MRR (a table on stderr, or --format json|csv on stdout).

    \b
    Example (nightly, from cron; the key comes from a 0600 env file):
      set -a; . ./billing.env; set +a
      billing-connector sync --db /data/billing.db --quiet --log-format json >> sync.log 2>&1

    
    Example (a Chargebee site; the key comes from CHARGEBEE_API_KEY):
      billing-connector sync --provider chargebee --site acme-test --db acme.db
    """
    if quiet:
        quiet_logging()
    settings = settings_from(config_path, db=db, streams=streams, max_requests_per_second=max_requests_per_second,
                             provider=provider, site=site)
    report, counts = app.sync_and_count(settings, full_refresh=full_refresh, quiet=quiet, skip_mrr=skip_mrr)
    code = exit_code_of(report)
    summary = sync_summary(settings.db, report, counts, code)
    if output_format == "json":
        print_json(summary)
    elif output_format == "csv":
        print_csv(summary["streams"], ["stream", "rows", "created", "updated", "deleted", "error"])
    elif not quiet:
        for line in summary_lines(summary):
            click.echo(line, err=True)
    for stream, error in report.failures.items():
        click.echo(f"error: {stream}: {error}", err=True)
    if code == EXIT_REJECTED:
        click.echo(
            f"warning: {report.rejected:,} records could not be stored or mapped and were quarantined; "
            "everything else is up to date (see `billing-connector status`)", err=True)
    raise SystemExit(code)


@click.command()
@common_options
@output_options
def status(config_path, db, output_format):
    """Show what the store holds per stream: rows, phase, cursor, last run, what the next run does. No network.

    \b
    Example:
      billing-connector status --db billing.db
    """
    settings = settings_from(config_path, db=db)
    info = app.status(settings)
    if output_format == "json":
        print_json(info)
        return
    warn(info["last_sync"]["warning"])
    columns = ["stream", "rows", "phase", "events_cursor", "updated_at", "next_run"]
    if info["provider"] not in (None, "stripe"):   # listed by update time: that cursor, not an events one
        columns[3] = "updated_cursor"
    if output_format == "csv":
        print_csv(info["streams"], columns)
        return
    last = info["last_sync"]
    provider = f"{info['provider']} " if info["provider"] else ""
    click.echo(f"store {info['db']}: {provider}account {info['account_id'] or '-'} ({info['mode'] or 'no'} mode), "
               f"API {info['api_version'] or '-'}")
    if last["finished_at"] or last["started_at"]:
        state = "interrupted" if last["interrupted"] else "ok" if last["ok"] else "failed for some streams"
        click.echo(f"last sync: started {last['started_at'] or '-'}, finished {last['finished_at'] or '-'} ({state})"
                   + (f", {last['requests']:,} requests" if last["requests"] is not None else ""))
        if last["requests_by_endpoint"]:
            click.echo("  " + requests_line(last["requests_by_endpoint"]))
    else:
        click.echo("last sync: none yet")
    print_table(info["streams"], columns)
    for key, heading in (
        ("unclassified", "unclassified (kept in the store, left out of MRR; see docs/schema.md):"),
        ("mrr_unplaced", "not placed by the MRR rules (left out of MRR; see `explain CUSTOMER`):"),
    ):
        if info[key]:
            click.echo(heading)
            for item in info[key]:
                amount = f"{item['amount']['amount']} {item['amount']['currency']}" if item.get("amount") else ""
                click.echo(f"  {item['object_type']:<17} {item['count']:>6,}  {item['reason']}  {amount}".rstrip())
    if info["quarantined"]:
        click.echo("quarantined (could not be stored or mapped; the rest carried on; see docs/store.md):")
        for stream, count in info["quarantined"].items():
            click.echo(f"  {stream:<20} {count:>9,}")


@click.command()
@common_options
@output_options
@provider_options
def auth(config_path, db, output_format, provider, site):
    """Check the API key: account, mode, key type and which streams it may read.

    Exits 4 when the key may not read a stream (each refused stream is named).

    \b
    Example:
      STRIPE_API_KEY=rk_live_... billing-connector auth
      CHARGEBEE_API_KEY=test_... billing-connector auth --provider chargebee --site acme-test
    """
    settings = settings_from(config_path, db=db, provider=provider, site=site)
    info = app.auth(settings)
    if output_format == "json":
        print_json(info)
    elif output_format == "csv":
        print_csv(info["streams"], ["stream", "readable", "reason"])
    else:
        click.echo(f"account {info['account_id']} ({info['mode']} mode) with a {info['key']}")
        for row in info["streams"]:
            click.echo(f"  {row['stream']:<18} {'ok' if row['readable'] else row['reason']}")
    # Only what a sync with these settings reads fails the check; other refusals are shown above.
    refused = [row["stream"] for row in info["streams"] if not row["readable"] and row["stream"] in info["needed"]]
    if refused:
        cost = " (without events, every sync re-reads each stream in full)" if "events" in refused else ""
        click.echo(f"error: the key may not read {', '.join(refused)}: grant Read on them to the restricted key{cost}",
                   err=True)
        raise SystemExit(EXIT_PERMISSION)


def register(main: click.Group) -> None:
    main.add_command(sync)
    main.add_command(status)
    main.add_command(auth)
