"""The HTTP transport under the Stripe SDK: ``connector.bounded_http`` behind ``stripe.HTTPClient``.

The SDK's own ``RequestsClient`` trusts the server (no total deadline, no size
cap, redirects followed). This client, handed to ``StripeClient`` instead, makes
every request through :class:`~connector.bounded_http.BoundedRequester` and
sends the key only to a URL ``endpoint_safety.endpoint_problem`` accepts (https,
or plain http to this machine named exactly, with no proxy able to read the
cleartext) — checked again on every request, since the SDK builds the URLs: its
origin (``scheme://host:port``, where the rule looks), once per origin. The rest
of the URL is the SDK's encoding of our path and parameters (ids percent-encoded,
``stripe_catalog.object_id_in_path``), and urllib3 percent-encodes what a request
target may not hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import stripe

from ..bounded_http import BoundedRequester, ResponseRefused, origin_of
from ..constants import MAX_RESPONSE_BYTES
from ..endpoint_safety import endpoint_problem
from ..errors import ConfigError

__all__ = ["BoundedHTTPClient", "ResponseRefused"]


class BoundedHTTPClient(stripe.HTTPClient):
    """A ``stripe.HTTPClient`` whose every request ends by ``timeout`` seconds and ``max_bytes`` bytes."""

    name = "requests"

    def __init__(self, timeout: float, max_bytes: int = MAX_RESPONSE_BYTES):
        super().__init__(verify_ssl_certs=True)
        self._requester = BoundedRequester(timeout, max_bytes, not_api_hint="is stripe.api_base a Stripe API?")
        self._problems: dict[str, str | None] = {}   # per origin: why the key may not go there, or None

    def request(self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None):
        origin = origin_of(url)
        if origin not in self._problems:
            self._problems[origin] = endpoint_problem(origin)
        problem = self._problems[origin]
        if problem:
            raise ConfigError(problem.replace("api_base ", "request URL ", 1))
        response = self._requester.request(
            method, url, what=f"{method.upper()} {urlsplit(url).path}", headers=headers, data=post_data,
            verify=stripe.ca_bundle_path,
        )
        return response.body, response.status, response.headers

    def close(self) -> None:
        self._requester.close()
