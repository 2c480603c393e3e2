"""`doctor`: check everything a sync depends on and say what to fix."""

from __future__ import annotations

import sys

import click

from .options import common_options, global_config, global_db, provider_options
from .output import output_options, print_csv, print_json

_MARK = {"ok": "ok", "warning": "warning", "error": "ERROR"}


@click.command()
@common_options
@output_options
@provider_options
def doctor(config_path, db, output_format, provider, site):
    """Check Python, packages, config, API key, API access per stream, store, last sync and export targets.

    Each line is ok, warning or ERROR, with what to do. Exits 1 when any line is
    an error, 0 otherwise. The API key is shown only as its type, mode and last 4
    characters.

    \b
    Example:
      billing-connector doctor --db /data/billing.db
      billing-connector doctor --provider chargebee --site acme-test --db acme.db
    """
    from ..doctor import ERROR, exit_code, run_doctor

    checks = run_doctor(global_config(config_path), db=global_db(db), provider=provider, site=site)
    code = exit_code(checks)
    if output_format == "json":
        print_json({
            "ok": code == 0,
            "errors": sum(c.status == ERROR for c in checks),
            "warnings": sum(c.status == "warning" for c in checks),
            "checks": [c.as_dict() for c in checks],
        })
    elif output_format == "csv":
        print_csv([c.as_dict() for c in checks])
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            click.echo(f"{_MARK[check.status]:<8} {check.name:<{width}}  {check.detail}")
            if check.action:
                click.echo(f"{'':<8} {'':<{width}}  → {check.action}")
    sys.exit(code)


def register(main: click.Group) -> None:
    main.add_command(doctor)
