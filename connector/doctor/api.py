"""The doctor's API checks: may the key go to the configured base, what key it is, what it may read.

A network check uses a short retry budget so a dead API fails in seconds, not
after the sync's five-minute budget. The key is shown only through ``describe_key``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..config import Settings, describe_key
from ..endpoint_safety import endpoint_problem
from ..errors import ConnectorError
from .check import ERROR, OK, WARNING, Account, Check

DOCTOR_MAX_RETRIES = 2
DOCTOR_MAX_RETRY_SECONDS = 10.0
DOCTOR_TIMEOUT_SECONDS = 10.0


def check_endpoint(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Check], bool]:
    """Whether the key may be sent to the configured API base; (checks, usable)."""
    problem = endpoint_problem(settings.api_base, environ)
    base = settings.api_base or "https://api.stripe.com"
    source = settings.sources.get("api_base", "default")
    if problem:
        return [Check("API endpoint", ERROR, problem, "use an https:// api_base (or unset it for Stripe)")], False
    return [Check("API endpoint", OK, f"{base} ({source})")], True


def check_key(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Check], bool]:
    """The key's type, mode and last 4 characters; (checks, usable)."""
    try:
        key = settings.api_key(environ)
    except ConnectorError as exc:
        return [Check("API key", ERROR, str(exc), "set it where billing-connector runs (the shell, or the cron line)")], False
    description = describe_key(key)
    if key.startswith("sk_"):
        return [Check("API key", WARNING, f"{settings.api_key_env}: {description}",
                      "a restricted key with read access only is safer (Dashboard → Developers → API keys)")], True
    return [Check("API key", OK, f"{settings.api_key_env}: {description}")], True


def check_api(settings: Settings, auth: Callable[[Settings], dict[str, Any]] | None = None) -> tuple[list[Check], Account]:
    """One call for the account, one tiny list per stream (connector.app.auth); also the key's account."""
    if auth is None:
        from ..app import auth
    quick = replace(
        settings,
        max_retries=DOCTOR_MAX_RETRIES,
        max_retry_seconds=DOCTOR_MAX_RETRY_SECONDS,
        timeout_seconds=min(settings.timeout_seconds, DOCTOR_TIMEOUT_SECONDS),
    )
    try:
        info = auth(quick)
    except ConnectorError as exc:
        return [Check("API", ERROR, str(exc), "check the key, the network and stripe.api_base")], None
    checks = [Check("API", OK, f"account {info['account_id']} ({info['mode']} mode), API version {info['api_version']}")]
    wanted = set(settings.streams) if settings.streams else None
    needed = info.get("needed")   # what a sync with these settings reads (auth says)
    for row in info["streams"]:
        stream, access = row["stream"], row["reason"]
        if row["readable"]:
            checks.append(Check(f"read {stream}", OK, "allowed"))
        elif needed is not None and stream == "events" and stream not in needed:
            checks.append(Check(f"read {stream}", WARNING, access,
                                "not needed: this provider's streams are kept up to date by update time "
                                "(without it, `explain` shows no events)"))
        elif wanted is not None and stream not in wanted and stream != "events":
            checks.append(Check(f"read {stream}", WARNING, access, "not synced (stripe.streams), so not needed yet"))
        else:
            cost = " (without it, every sync re-reads each stream in full)" if stream == "events" else ""
            checks.append(Check(f"read {stream}", ERROR, access, f"give the key read access to {stream}{cost}"))
    return checks, (info["account_id"], info["mode"])
