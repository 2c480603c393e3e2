"""Where a Chargebee key goes and the key itself (Stripe's checks are in ``api.py``).

The site must be a site name (``acme`` or ``acme-test``) and an API base, if
set, a loopback server (the demo, tests); the key comes from
``CHARGEBEE_API_KEY`` and is shown only as its site mode and last 4 characters.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config import Settings
from ..endpoint_safety import endpoint_problem
from ..errors import ConnectorError
from ..providers import chargebee as adapter
from .check import ERROR, OK, Check


def check_endpoint(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Check], bool]:
    """The site and where its requests go; (checks, usable)."""
    site = settings.chargebee_site
    if not site:
        return [Check("API endpoint", ERROR, "no Chargebee site set",
                      "pass --site acme (or acme-test), set CHARGEBEE_SITE or [chargebee] site")], False
    problem = endpoint_problem(settings.chargebee_api_base, environ) if settings.chargebee_api_base else None
    try:
        base = adapter.site_base_url(site, settings.chargebee_api_base)
    except ConnectorError as exc:
        problem = problem or str(exc)
    if problem:
        return [Check("API endpoint", ERROR, problem, "fix chargebee.site / chargebee.api_base")], False
    return [Check("API endpoint", OK, f"{base} (site {site})")], True


def check_key(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Check], bool]:
    """The key's site mode and last 4 characters; (checks, usable)."""
    try:
        key = adapter.api_key_from_env(environ)
    except ConnectorError as exc:
        return [Check("API key", ERROR, str(exc),
                      "set it where billing-connector runs (the shell, or the cron line)")], False
    return [Check("API key", OK, f"{adapter.API_KEY_ENV}: {adapter.describe_key(key)}")], True
