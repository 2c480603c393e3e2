"""What the CLI tests share: the request-level fake Stripe account (run commands with tests.support.cli)."""

from __future__ import annotations

import pytest
import responses

from tests.support.fakestripe import small_account


@pytest.fixture
def fake():
    """Six customers, each with a subscription and an invoice, served through `responses`."""
    account = small_account(customers=6)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        account.install(rsps)
        yield account
