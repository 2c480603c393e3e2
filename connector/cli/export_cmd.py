"""`export`: load the store's tables into a warehouse (Postgres, DuckDB) or files."""

from __future__ import annotations

import click

from ..errors import EXIT_REJECTED
from ..export import TARGET_EXAMPLES, ExportResult, export
from ..store import opened
from ..sync.progress import one_phase
from ..sync_health import last_sync
from ..mrr.analysis_tables import write_analysis_tables
from .conversion import conversion_options, reporting_rates
from .options import common_options, settings_from
from .output import output_options, print_csv, print_json, warn


@click.command("export")
@click.option("--to", "target", required=True, metavar="TARGET", help=f"Where to: {TARGET_EXAMPLES}.")
@click.option("--tables", default=None, help="Comma-separated tables to export (default: every data table).")
@click.option("--full", is_flag=True, help="Re-send every row, not only those changed since this target's last export.")
@click.option("--schema", default=None, help="Target schema (postgres default: billing; duckdb default: main).")
@output_options
@common_options
@conversion_options
def export_command(target, tables, full, schema, output_format, config_path, db, rates, reporting_currency,
                   refresh_rates):
    """Export the store's tables: only the rows changed since the last export to the same target.

    Prints the rows sent per table on stdout, a summary on stderr. A failure
    exits with code 7 and leaves the failed table's target and watermark as they
    were; running the same command again continues where it stopped.

    \b
    Examples:
      billing-connector export --to postgresql://analytics@db.internal/warehouse --schema billing
      billing-connector export --to duckdb:billing.duckdb --tables customers,subscriptions
      billing-connector export --to parquet:exports/ --full
    """
    settings = settings_from(config_path, db=db, reporting_currency=reporting_currency)
    rates_table = reporting_rates(settings, rates, refresh_rates)
    requested = [name.strip() for name in tables.split(",") if name.strip()] if tables else None
    with opened(settings.db, create=False) as store:
        last = last_sync(store)
        if output_format != "json":
            warn(last["warning"])
        with one_phase("export"):
            write_analysis_tables(store, rates_table)   # segments, cohorts, converted view: from the facts
            result = export(store, target, tables=requested, full=full, schema=schema)
    _print_result(result, last, output_format)
    if result.skipped:
        for table in result.tables.values():
            for _key, why in table.skipped:
                warn(f"{why}: left out of the export and quarantined")
        raise SystemExit(EXIT_REJECTED)


def _print_result(result: ExportResult, last: dict, output_format: str) -> None:
    rows = [
        {
            "table": name,
            "rows_sent": table.rows_sent,
            "rows_changed": table.rows_changed,
            "seq_from": table.seq_from,
            "seq_to": table.seq_to,
            "files": table.files,
        }
        for name, table in result.tables.items()
    ]
    if output_format == "json":
        print_json({"target": result.target, "seq": result.seq, "partial": last["partial"],
                    "warning": last["warning"], "tables": rows})
    elif output_format == "csv":
        print_csv(rows, ["table", "rows_sent", "rows_changed", "seq_from", "seq_to"])
    else:
        width = max([len(row["table"]) for row in rows] + [5])
        for row in rows:
            click.echo(f"{row['table']:<{width}} {row['rows_sent']:>9,}")
    total = sum(row["rows_sent"] for row in rows)
    click.echo(f"exported {total:,} rows in {len(rows)} tables to {result.target} (store seq {result.seq})", err=True)


def register(main: click.Group) -> None:
    main.add_command(export_command)
