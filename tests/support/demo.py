"""The demo server as the demo tests talk to it: a fixed clock, a test key, an SDK client."""

from __future__ import annotations

import stripe

NOW = 1_793_491_200  # 2026-11-01 00:00 UTC: a fixed anchor so every figure is reproducible
TEST_KEY = "sk_test_demo0key0for0tests0only0abcd"


def sdk_client(url: str, key: str = TEST_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(api_key=key, base_addresses={"api": url}, max_network_retries=0)
