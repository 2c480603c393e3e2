"""How a Stripe failure is classified: retry it, or stop with a message that says what to do.

Every response the adapter cannot use passes through :func:`classify` once:
429, 5xx, connection failures, unparseable bodies and ``Stripe-Should-Retry:
true`` become ``http.Retryable``; 401/403/404/400 and ``Stripe-Should-Retry:
false`` become final ``ConnectorError``s naming the resource and the remedy.
"""

from __future__ import annotations

import re

import stripe

from ..errors import AuthError, ConnectorError, NotFound, PermissionDenied, ResourceMissing
from ..http import Retryable, header_value, retry_after_from
from .base import CursorGone
from .stripe_catalog import PERMISSIONS


class ExpansionRefused(ConnectorError):
    """HTTP 400 refusing an `expand` we sent: the server's objects lack that field."""


class TypesFilterRefused(ConnectorError):
    """HTTP 400 refusing the events list's `types[]` filter (a Stripe-like server without it)."""


_OBJECT_ID = re.compile(r"/[a-z]+_[A-Za-z0-9]{8,}(?=/|$)")


def endpoint_of(path: str) -> str:
    """The route a request counts against: ``/v1/invoices/in_123.../lines`` -> ``/v1/invoices/:id/lines``.

    Stripe's per-endpoint limits apply per route; keying the bucket by route lets
    nested-list and detail requests run beside their parent's list pages.
    """
    return _OBJECT_ID.sub("/:id", path)


def classify(exc: stripe.StripeError, what: str, stream: str | None) -> Exception:  # noqa: C901 - one table of cases
    """Turn an SDK error into Retryable (try again) or a final ConnectorError."""
    status = exc.http_status
    headers = exc.headers
    should_retry = header_value(headers, "Stripe-Should-Retry")
    if should_retry == "false":
        return ConnectorError(f"Stripe refused {what} and said not to retry (HTTP {status}): {exc.user_message or ''}".rstrip(": "))
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return Retryable("rate_limited", "HTTP 429", retry_after_from(headers))
    if should_retry == "true":
        return Retryable("unavailable", f"HTTP {status}", retry_after_from(headers))
    if isinstance(exc, stripe.APIConnectionError):
        return Retryable("transport", "connection failed or timed out")
    if status is None or status >= 500:
        return Retryable("unavailable", f"HTTP {status}" if status else "no response")
    if status < 300:
        # 200 with a body that is not JSON: a broken transfer, never an empty page.
        return Retryable("transport", "response body was not valid JSON")
    if status in (400, 404) and getattr(exc, "code", None) == "resource_missing" and getattr(exc, "param", None) == "starting_after":
        return CursorGone(what)
    if status == 401:
        return AuthError(
            "Stripe rejected the API key (401): check STRIPE_API_KEY, it may be revoked or of another account"
        )
    if status == 403:
        need = PERMISSIONS.get(stream or "", "read access")
        return PermissionDenied(
            f"the API key may not read {stream or what} (403): grant '{need}' to the restricted key, "
            f"or leave the stream out with --streams"
        )
    if status == 404:
        if getattr(exc, "code", None) == "resource_missing":
            return ResourceMissing(f"{what}: Stripe says no such object (404 resource_missing)")
        return NotFound(
            f"{what} was not found (404): this account or API version has no such endpoint; "
            "leave the stream out with --streams or point STRIPE_API_BASE at a full Stripe API"
        )
    message = exc.user_message or str(getattr(exc, "_message", "")) or "request refused"
    if status == 400 and _names_expand(exc, message):
        return ExpansionRefused(f"Stripe refused {what} (HTTP 400): {message}")
    if status == 400 and _names_types(exc, message):
        return TypesFilterRefused(f"Stripe refused {what} (HTTP 400): {message}")
    return ConnectorError(f"Stripe refused {what} (HTTP {status}): {message}")


def _names_types(exc: stripe.StripeError, message: str) -> bool:
    param = getattr(exc, "param", None) or ""
    return param.startswith("types") or "types" in message.lower()


def _names_expand(exc: stripe.StripeError, message: str) -> bool:
    # Stripe says "This property cannot be expanded (x)." with no `param`; others name `expand[0]`.
    param = getattr(exc, "param", None) or ""
    return param.startswith("expand") or "expand" in message.lower()


