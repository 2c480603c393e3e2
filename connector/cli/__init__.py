"""The `billing-connector` command line: a thin layer of click commands.

Commands live one group per module (``connector/cli/<topic>.py``) and only parse,
call and print: no SQL and no HTTP here. Every expected failure is a
``ConnectorError`` and ends as one line on stderr with its documented exit code.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
import traceback

import click

from ..errors import EXIT_FAILED, ConnectorError
from .. import logsetup
from ..redact import install_log_redaction, redact
from ..store.failures import os_failure, store_failure
from .options import global_options

# Each module defines `register(main)`; the order is the order of `--help`.
COMMAND_MODULES = (
    "connector.cli.sync_cmds",
    "connector.cli.demo_cmd",
    "connector.cli.mrr_cmds",
    "connector.cli.explain_cmd",
    "connector.cli.import_cmd",
    "connector.cli.export_cmd",
    "connector.cli.report_cmds",
    "connector.cli.doctor_cmd",
)


class _Main(click.Group):
    def invoke(self, ctx: click.Context):
        # warnings on stderr unless a logging option before the command said otherwise
        logsetup.configure(**ctx.meta.get("logging", {}))
        install_log_redaction()  # every handler a record can reach, the last resort included
        try:
            return super().invoke(ctx)
        except ConnectorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing after the last committed page was written", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            # A full or read-only disk met outside a path-aware handler: said as such, by its code.
            failure = store_failure(exc, None) if isinstance(exc, sqlite3.Error) else (
                os_failure(exc) if isinstance(exc, OSError) else None)
            if failure is not None:
                click.echo(f"error: {failure}", err=True)
                sys.exit(failure.exit_code)
            # A bug: its traceback is what a report needs, but it may quote server
            # text (a request, a header): it goes through the same redaction.
            click.echo(redact(traceback.format_exc()).rstrip(), err=True)
            click.echo("error: an unexpected failure (a bug); please report the traceback above", err=True)
            sys.exit(EXIT_FAILED)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="billing-connector")
@global_options
def main(config_path, db) -> None:
    """Sync a Stripe account (or a Chargebee site) into SQLite, compute exact MRR, export it to a warehouse.

    \b
    Example:
      export STRIPE_API_KEY=rk_live_...   # a read-only restricted key
      billing-connector sync --db billing.db
      billing-connector mrr history --grain month
      CHARGEBEE_API_KEY=... billing-connector sync --provider chargebee --site acme --db acme.db

    --db and --config may come before or after the command; BILLING_CONNECTOR_DB
    sets the store for every command.
    """


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(main)
