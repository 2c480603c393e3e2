"""Where the API key may be sent: the one rule every request, `doctor` and the transports apply.

https to any host; plain http only to a loopback host named exactly, and only when no proxy
variable would carry the cleartext request (and its key) to a proxy (issue 14, key hygiene).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import ConfigError

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_API_BASE = "https://api.stripe.com"


def endpoint_problem(api_base: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the API key must not be sent to ``api_base``, or None when it may.

    https to any host; plain http only to localhost, 127.0.0.1 or ::1 named
    exactly, and only when no proxy variable would carry the cleartext request
    (and its key) to a proxy. A URL with user info or odd characters in its host
    part is refused: parsers disagree about where such a host ends.
    """
    environ = os.environ if environ is None else environ
    url = api_base or DEFAULT_API_BASE
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return f"api_base {url!r} is not a valid URL; use https://host"
    if parts.scheme not in ("http", "https") or not host:
        return f"api_base {url!r} is not an http(s) URL; use https://host"
    if "@" in parts.netloc or "\\" in url or any(c.isspace() or ord(c) < 32 for c in url):
        return f"api_base {url!r} has user info or control characters in it; use https://host"
    if parts.scheme == "https":
        return None  # a proxy only tunnels TLS (CONNECT): the key stays encrypted end to end
    if host not in LOOPBACK_HOSTS:
        return (
            f"api_base {url} is plain http to {host}: the API key would travel unencrypted; "
            "use https:// (plain http is allowed only to localhost, 127.0.0.1 or ::1)"
        )
    proxy_variable = _proxy_variable("http", host, environ)
    if proxy_variable:
        return (
            f"api_base {url} is plain http and {proxy_variable} would send it, with the API key, "
            f"through a proxy; unset {proxy_variable} or add {host} to NO_PROXY"
        )
    return None


def _proxy_bypassed(host: str, proxies: Mapping[str, str]) -> bool:
    import urllib.request   # (with http.client and ssl) only when a proxy variable is set

    return urllib.request.proxy_bypass_environment(host, proxies)


def _proxy_variable(scheme: str, host: str, environ: Mapping[str, str]) -> str | None:
    """The environment variable that would route a request to ``host`` through a proxy, if any."""
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    for wanted in (f"{scheme}_proxy", "all_proxy"):
        for name in (wanted, wanted.upper()):
            if environ.get(name, "").strip():
                if no_proxy and _proxy_bypassed(host, {"no": no_proxy}):
                    return None
                return name
    return None


def require_safe_endpoint(api_base: str | None, environ: Mapping[str, str] | None = None) -> None:
    """ConfigError (before any request) when the key must not go to ``api_base``."""
    problem = endpoint_problem(api_base, environ)
    if problem:
        raise ConfigError(problem)
