"""Issue 14, hostile input: an id the server hands us becomes one percent-encoded path segment.

The connector builds two kinds of URL from ids it was given: an object's re-fetch
(``/v1/customers/{id}``, after an event names it) and an embedded list read in full
(``/v1/invoices/{id}/lines``). An id such as ``in_1/../../v1/account?limit=1`` must
not turn either into a request for another endpoint or add parameters; Stripe's SDK
encodes ids the same way (``sanitize_id``), and Stripe's own ids are unchanged by it.
"""

from __future__ import annotations

import pytest

from connector.http import RateLimiter, RetryPolicy
from connector.providers.stripe import StripeProvider
from connector.providers.stripe_catalog import STREAMS, object_id_in_path
from tests.support.keys import CANARY_KEY
from tests.support.loopback import LoopbackServer, Reply

HOSTILE = "cus_1/../../v1/account?limit=1#x"


@pytest.mark.parametrize("object_id, segment", [
    ("cus_NffrFeUfNV2Hib", "cus_NffrFeUfNV2Hib"),      # Stripe's ids: unchanged
    ("25OFF-summer_v2.1~", "25OFF-summer_v2.1~"),      # a custom coupon id of the safe characters
    ("gold plan", "gold%20plan"),
    (HOSTILE, "cus_1%2F..%2F..%2Fv1%2Faccount%3Flimit%3D1%23x"),
])
def test_an_id_is_one_path_segment(object_id, segment):
    assert object_id_in_path(object_id) == segment
    child = next(c for c in STREAMS["invoices"].children if c.path == "/v1/invoices/{id}/lines")
    assert child.list_request(object_id)[0] == f"/v1/invoices/{segment}/lines"


def test_a_refetch_of_a_hostile_id_asks_for_that_object_and_nothing_else():
    def answer(request):
        return Reply(200, {"id": HOSTILE, "object": "customer", "created": 1})

    with LoopbackServer(answer) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, timeout=5, limiter=RateLimiter(1000),
                                  retry_policy=RetryPolicy(max_attempts=1))
        assert provider.fetch_object("customers", HOSTILE)["id"] == HOSTILE
    (request,) = [r for r in server.requests if r.path.startswith("/v1/customers")]
    assert request.path == "/v1/customers/cus_1%2F..%2F..%2Fv1%2Faccount%3Flimit%3D1%23x"
    assert "limit" not in request.query
    assert not any(r.path == "/v1/account" for r in server.requests)
