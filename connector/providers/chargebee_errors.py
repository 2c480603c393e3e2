"""Every Chargebee failure, classified once: ``http.Retryable`` or a final ConnectorError.

Chargebee's error body is ``{"message", "api_error_code", "error_code",
"error_msg", "http_status_code"}`` (some carry only ``message`` and
``api_error_code``). The classification keys on the status and
``api_error_code``; the message for the person running the tool names the
request, the code and what to do, and never contains the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..errors import AuthError, ConfigError, ConnectorError, PermissionDenied
from ..http import Retryable, retry_after_from


class NotFound(PermissionDenied):
    """404: the object or endpoint does not exist on this site."""


class CatalogIncompatible(PermissionDenied):
    """``configuration_incompatible``: the endpoint belongs to the other Product Catalog version."""


# 5xx and these codes may succeed on another attempt; Chargebee documents
# lock_timeout (409) and site_not_ready/site_migrating (503) as transient.
_RETRY_CODES = {"lock_timeout", "internal_temporary_error", "site_not_ready", "site_migrating", "internal_error"}


def error_fields(body: bytes | str | None) -> tuple[str | None, str]:
    """(api_error_code, message) from an error body; (None, "") when it is not Chargebee's JSON."""
    if not body:
        return None, ""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):   # not JSON, or nested too deep to read: no code, no message
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("api_error_code") or data.get("error_code")
    return (code if isinstance(code, str) else None), str(data.get("message") or data.get("error_msg") or "")


def classify(
    status: int, body: bytes | str | None, headers: Mapping[str, str], *, what: str, site: str,
    permission: str = "",
) -> Exception:
    """The exception a non-2xx response becomes (returned, for the caller to raise)."""
    code, message = error_fields(body)
    label = f"{status} {code}" if code else str(status)
    if status == 429 or code == "api_request_limit_exceeded":
        return Retryable(
            "rate_limited", f"{what}: {label}", retry_after=retry_after_from(headers)
        )
    if code == "configuration_incompatible":
        return CatalogIncompatible(
            f"{what} refused ({label}): the site {site} uses the other Product Catalog version; "
            "run `billing-connector doctor` to see which version it has"
        )
    if status == 401:
        return AuthError(
            f"Chargebee rejected the API key for site {site} ({label}): set CHARGEBEE_API_KEY to a "
            f"key of {site} (test sites end in -test and have their own keys)"
        )
    if status == 403:
        need = f" ({permission})" if permission else ""
        return PermissionDenied(
            f"the API key may not read {what}{need} ({label}): give the key read access in "
            "Chargebee's Settings > API Keys, or skip the stream"
        )
    if status == 404:
        if code == "site_not_found":
            return ConfigError(f"Chargebee has no site {site} ({label}): check --site (e.g. acme or acme-test)")
        return NotFound(f"{what} not found on site {site} ({label})")
    if status >= 500 or code in _RETRY_CODES:
        return Retryable("unavailable", f"{what}: {label} {message[:120]}".rstrip())
    return ConnectorError(f"Chargebee refused {what} ({label}): {message[:200] or 'no message'}")
