"""One GET through the Stripe SDK's requestor, in two halves: the request, and reading its answer.

Apart so that a request can be made on one thread and its answer read on another
(``read_ahead.py``: a first sync's first pages, asked for while the account is
identified and read when the sync takes them, under its bound on parsed pages).
The SDK builds the request (auth, pinned Stripe-Version, telemetry) and types
error responses; a 2xx body is parsed here (``bounded_http.json_object``: orjson, the
standard library at its edges): the SDK's own parse makes OrderedDicts, which
cost twice the CPU to read and again to store — at 10,000 objects/s that is the
whole budget.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import stripe

from ..bounded_http import ResponseRefused, json_object
from ..http import RateLimiter, RequestTally, Retryable
from .stripe_errors import classify, endpoint_of

log = logging.getLogger("billing_connector.stripe")


def send(requestor: Any, limiter: RateLimiter | None, tally: RequestTally | None, path: str,
         params: Mapping[str, Any], what: str, stream: str | None) -> tuple[Any, int, Any]:
    """The request: (body, status, headers), the body unread. With ``tally``, the rate limiter's turn
    is taken first and the request counted; the limiter times it either way (how many requests in
    flight the ceiling needs: limiter.py)."""
    if tally is not None:
        endpoint = endpoint_of(path)
        if limiter is not None:
            limiter.acquire(endpoint)
        tally.count(endpoint)
        log.debug("GET %s %s", path, dict(params))
    sent = limiter.request_sent() if limiter is not None else None
    status = 0
    try:
        body, status, headers = requestor.request_raw(
            "get", path, params=dict(params), options={}, base_address="api", api_mode="V1",
            usage=["billing_connector"],
        )
    except stripe.StripeError as exc:
        raise classify(exc, what, stream) from None
    finally:
        if sent is not None:
            limiter.request_answered(sent, ok=200 <= status < 300)
    return body, status, headers


def read_answer(requestor: Any, body: Any, status: int, headers: Any, what: str, stream: str | None) -> dict[str, Any]:
    """A response as a dict, or the error it says (classified: ``http.Retryable`` or final)."""
    if 200 <= status < 300:
        return json_object(body, what)
    try:
        requestor._interpret_response(body, status, headers, "V1")
    except stripe.StripeError as exc:
        raise classify(exc, what, stream) from None
    except RecursionError:
        raise ResponseRefused(f"{what}: HTTP {status} with an error body nested too deep to read") from None
    raise Retryable("unavailable", f"HTTP {status} without an error body")
