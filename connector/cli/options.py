"""Option bundles shared by commands, so every command spells them the same way."""

from __future__ import annotations

import click

from ..config import Settings, load_settings

db_option = click.option(
    "--db", "db", type=click.Path(dir_okay=False), default=None,
    help="SQLite store path (default: setting `db`, else billing.db).",
)
config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="TOML config file (default: ./config.toml if present).",
)
format_option = click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table",
    show_default=True, help="Output for people (table) or machines (json, csv).",
)


def common_options(func):
    """--config and --db, on every command."""
    return config_option(db_option(func))


def settings_from(config_path: str | None, **flags) -> Settings:
    return load_settings(config_path, flags=flags)
