"""Option bundles shared by commands, so every command spells them the same way."""

from __future__ import annotations

import click

from .. import logsetup
from ..config import PROVIDERS, Settings, load_settings

db_option = click.option(
    "--db", "db", type=click.Path(dir_okay=False), default=None,
    help="SQLite store path (default: setting `db`, else billing.db).",
)
config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="TOML config file (default: ./config.toml if present).",
)


def provider_options(func):
    """--provider and --site: which billing provider account a command talks to."""
    func = click.option(
        "--site", "site", default=None,
        help="Chargebee site: acme, or acme-test for a test site (setting chargebee.site, env CHARGEBEE_SITE).",
    )(func)
    return click.option(
        "--provider", type=click.Choice(PROVIDERS), default=None,
        help="Billing provider: stripe (default) or chargebee (setting `provider`, env BILLING_CONNECTOR_PROVIDER).",
    )(func)


def _logging_choice(ctx: click.Context, param: click.Parameter, value):
    """Record a logging option (before or after the command) and apply all of them at once."""
    if value is None or (param.name == "verbose" and not value):
        return value
    chosen = ctx.find_root().meta.setdefault("logging", {})
    chosen[param.name] = value
    logsetup.configure(**chosen)
    return value


def _logging_options(func):
    func = click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=_logging_choice,
        help="More log detail on stderr: -v info, -vv debug.",
    )(func)
    func = click.option(
        "--log-level", type=click.Choice(logsetup.LEVELS), default=None, expose_value=False,
        callback=_logging_choice, help="Exactly this log level (overrides -v and --quiet).",
    )(func)
    return click.option(
        "--log-format", type=click.Choice(logsetup.FORMATS), default=None, expose_value=False,
        callback=_logging_choice, help="text (default) or json: one JSON object per line for log shippers.",
    )(func)


def global_options(func):
    """--config, --db and the logging options of the main command."""
    return _logging_options(config_option(db_option(func)))


def common_options(func):
    """--config, --db and the logging options, on every command (also accepted before it)."""
    return global_options(func)


def quiet_logging() -> None:
    """--quiet: errors only, unless --log-level was given."""
    ctx = click.get_current_context(silent=True)
    chosen = dict(ctx.find_root().meta.get("logging", {})) if ctx is not None else {}
    logsetup.configure(**chosen, quiet=True)


def _global(name: str):
    """A value given to the main command (``billing-connector --db X status``), or None."""
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().params.get(name) if ctx is not None else None


def global_db(db: str | None) -> str | None:
    """``--db`` after the command wins over ``--db`` before it; None when neither was given."""
    return db if db is not None else _global("db")


def global_config(config_path: str | None) -> str | None:
    return config_path if config_path is not None else _global("config_path")


def settings_from(config_path: str | None, *, site: str | None = None, **flags) -> Settings:
    """Settings from the file, the environment and these flags (``site`` is --site's Chargebee site)."""
    if "db" in flags:
        flags["db"] = global_db(flags["db"])
    if site is not None:
        flags["chargebee_site"] = site
    return load_settings(global_config(config_path), flags=flags)
