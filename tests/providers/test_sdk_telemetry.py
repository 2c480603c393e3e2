"""The Stripe SDK's client telemetry is off: no id file in the user's home, no telemetry sent."""

from __future__ import annotations

import json

import responses

from connector.providers.stripe import StripeProvider
from tests.support.keys import CANARY_KEY

BASE = "http://127.0.0.1:9"   # never reached: `responses` answers


def test_requests_carry_no_telemetry_and_nothing_is_written_in_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    provider = StripeProvider(CANARY_KEY, api_base=BASE)
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/v1/account", json={"id": "acct_1", "object": "account"})
        provider.identify()
        provider.identify()   # the SDK sends the previous request's timing with the next one
        sent = [call.request.headers for call in mock.calls]
    assert len(sent) == 2
    for headers in sent:
        assert "X-Stripe-Client-Telemetry" not in headers
        client = json.loads(headers["X-Stripe-Client-User-Agent"])
        assert "telemetry_id" not in client and "platform" not in client
    assert list(tmp_path.rglob("*")) == []
