"""The Stripe SDK formats a response body for its debug log only when someone reads that log."""

from __future__ import annotations

import logging

import stripe._api_requestor as requestor
import stripe._util as sdk_util

import connector.providers.stripe  # noqa: F401 - installs the guard


def test_bodies_are_not_formatted_while_the_sdks_logging_is_off(monkeypatch):
    previous = sdk_util.logger.level
    try:
        _check(monkeypatch)
    finally:
        sdk_util.logger.setLevel(previous)


def _check(monkeypatch):
    formatted = []
    monkeypatch.setattr(sdk_util, "logfmt", lambda props: formatted.append(props) or "")
    monkeypatch.setattr(sdk_util.stripe, "log", None)
    monkeypatch.setattr(sdk_util, "STRIPE_LOG", None)
    sdk_util.logger.setLevel(logging.WARNING)
    requestor.log_debug("API response body", body=b'{"object": "list"}')
    requestor.log_info("Stripe API response", path="/v1/customers", response_code=200)
    assert formatted == []

    sdk_util.logger.setLevel(logging.DEBUG)   # someone reads it: as before, the body decoded leniently
    requestor.log_debug("API response body", body=b'{"object": "list"}')
    assert formatted == [{"message": "API response body", "body": '{"object": "list"}'}]

    formatted.clear()
    sdk_util.logger.setLevel(logging.WARNING)
    monkeypatch.setattr(sdk_util, "STRIPE_LOG", "info")   # STRIPE_LOG=info prints info lines, not bodies
    requestor.log_info("Stripe API response", path="/v1/customers", response_code=200)
    requestor.log_debug("API response body", body=b"{}")
    assert [props["message"] for props in formatted] == ["Stripe API response"]
