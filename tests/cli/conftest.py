"""What the CLI tests share: the request-level fake Stripe account and one way to run a command."""

from __future__ import annotations

import pytest
import responses
from click.testing import CliRunner, Result

from connector.cli import main
from tests.conftest import CANARY_KEY
from tests.sync.fakestripe import BASE, small_account


def invoke(args, env=None) -> Result:
    """Run the CLI against the fake account's address with the canary key (and ``env`` on top)."""
    environ = {"STRIPE_API_BASE": BASE, "STRIPE_API_KEY": CANARY_KEY, **(env or {})}
    return CliRunner().invoke(main, args, env=environ, catch_exceptions=False)


@pytest.fixture
def fake():
    """Six customers, each with a subscription and an invoice, served through `responses`."""
    account = small_account(customers=6)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        account.install(rsps)
        yield account
