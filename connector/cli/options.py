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
    """--config and --db, on every command (they are also accepted before the command)."""
    return config_option(db_option(func))


def _global(name: str):
    """A value given to the main command (``billing-connector --db X status``), or None."""
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().params.get(name) if ctx is not None else None


def global_db(db: str | None) -> str | None:
    """``--db`` after the command wins over ``--db`` before it; None when neither was given."""
    return db if db is not None else _global("db")


def global_config(config_path: str | None) -> str | None:
    return config_path if config_path is not None else _global("config_path")


def settings_from(config_path: str | None, **flags) -> Settings:
    if "db" in flags:
        flags["db"] = global_db(flags["db"])
    return load_settings(global_config(config_path), flags=flags)
