"""`doctor`: check everything a sync depends on and say what to fix."""

from __future__ import annotations

import json
import sys

import click

from ..doctor import ERROR, exit_code, run_doctor
from .options import common_options, global_config, global_db

_MARK = {"ok": "ok", "warning": "warning", "error": "ERROR"}


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(config_path, db, as_json):
    """Check Python, packages, config, API key, API access per stream, store, last sync and export targets.

    Each line is ok, warning or ERROR, with what to do. Exits 1 when any line is
    an error, 0 otherwise. The API key is shown only as its type, mode and last 4
    characters.

    \b
    Example:
      billing-connector doctor --db /data/billing.db
    """
    checks = run_doctor(global_config(config_path), db=global_db(db))
    code = exit_code(checks)
    if as_json:
        click.echo(json.dumps({
            "ok": code == 0,
            "errors": sum(c.status == ERROR for c in checks),
            "warnings": sum(c.status == "warning" for c in checks),
            "checks": [c.as_dict() for c in checks],
        }, indent=2, ensure_ascii=False))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            click.echo(f"{_MARK[check.status]:<8} {check.name:<{width}}  {check.detail}")
            if check.action:
                click.echo(f"{'':<8} {'':<{width}}  → {check.action}")
    sys.exit(code)


def register(main: click.Group) -> None:
    main.add_command(doctor)
