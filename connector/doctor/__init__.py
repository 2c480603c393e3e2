"""`doctor`: a checklist of everything a nightly sync depends on, each line ok / warning / error.

Each check returns :class:`Check` lines and never raises for an expected
failure: a ConnectorError becomes an error line carrying its own message (which
already says what to do). One module per thing checked: ``environment``
(Python, packages), ``settings`` (config file, where each setting came from),
``api`` (endpoint, key, access), ``store``, ``targets``; this one runs them in order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..config import Settings, load_settings
from ..errors import ConnectorError
from . import api, chargebee
from .api import check_api, check_endpoint, check_key
from .check import ERROR, OK, WARNING, Account, Check
from .environment import check_dependencies, check_python, version_satisfies
from .settings import check_config
from .store import STALE_SYNC_SECONDS, check_store
from .targets import check_export_targets, probe_target


# Where the key goes and the key itself, by provider: (endpoint check, key check).
ACCESS_CHECKS = {"stripe": (api.check_endpoint, api.check_key),
                 "chargebee": (chargebee.check_endpoint, chargebee.check_key)}


def run_doctor(
    config_path: str | None = None,
    *,
    db: str | None = None,
    now: float | None = None,
    provider: str | None = None,
    site: str | None = None,
) -> list[Check]:
    """Every check in order. Never raises for an expected problem: it becomes an error line.

    Reads the key from the process environment, as every other command does.
    """
    environ = os.environ
    checks = check_python() + check_dependencies()
    config_loaded = True
    try:
        settings = load_settings(config_path, flags={"db": db, "provider": provider, "chargebee_site": site},
                                 environ=environ)
        checks += check_config(settings)
    except ConnectorError as exc:
        checks.append(Check("config file", ERROR, str(exc), "fix the file (see config.example.toml) or pass --config"))
        settings, config_loaded = _settings_without_file(db, environ), False
    endpoint_check, key_check = ACCESS_CHECKS[settings.provider]
    endpoint_checks, endpoint_usable = endpoint_check(settings, environ)
    key_checks, key_usable = key_check(settings, environ)
    checks += endpoint_checks + key_checks
    account: Account = None
    if not config_loaded:
        # the API base and the streams may be in the file: checking without them would mislead
        checks.append(Check("API", WARNING, "not checked: the config file did not load", "fix it, then rerun doctor"))
    elif not endpoint_usable:
        checks.append(Check("API", ERROR, "not checked: the key may not be sent to the configured API base",
                            "fix stripe.api_base / STRIPE_API_BASE, then rerun doctor"))
    elif key_usable:
        api_checks, account = check_api(settings)
        checks += api_checks
    else:
        checks.append(Check("API", WARNING, "not checked: no usable API key", "set the key, then rerun doctor"))
    checks += check_store(settings.db, now, account)
    if config_loaded:
        checks += check_export_targets(settings.export_targets)
    return checks


def _settings_without_file(db: str | None, environ: Mapping[str, str]) -> Settings:
    """Environment and flags only, for the checks that can still run when the file is broken."""
    try:
        # an empty TOML document stands in for the broken file (./config.toml would be read again)
        return load_settings(os.devnull, flags={"db": db}, environ=environ)
    except ConnectorError:
        return Settings(db=db) if db else Settings()


def exit_code(checks: list[Check]) -> int:
    return 1 if any(check.status == ERROR for check in checks) else 0


__all__ = [
    "ERROR", "OK", "WARNING", "STALE_SYNC_SECONDS", "Account", "Check", "check_api", "check_config",
    "check_dependencies", "check_endpoint", "check_export_targets", "check_key", "check_python",
    "check_store", "exit_code", "probe_target", "run_doctor", "version_satisfies",
]
