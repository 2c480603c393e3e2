"""Every failure the adapter meets becomes one line with what to do, the right exit code, and no key."""

from __future__ import annotations

import socket

import pytest
import requests
import responses
import urllib3

from connector.demo_chargebee import DEFAULT_KEY, Fault
from connector.errors import (
    EXIT_AUTH, EXIT_PERMISSION, EXIT_UNAVAILABLE, AuthError, ConfigError, PaginationError, PermissionDenied,
    UpstreamUnavailable,
)
from connector.providers.chargebee import ChargebeeProvider, api_key_from_env, site_base_url
from connector.providers.chargebee_budget import MinuteBudget
from connector.providers.chargebee_errors import CatalogIncompatible, classify
from tests.support.chargebee.clock import FAST_RETRIES as FAST


def test_a_key_of_another_site_is_rejected_in_one_line(site, serve, connect):
    provider = connect(serve(site), key="live_other_site_key_0000")
    with pytest.raises(AuthError) as err:
        provider.list_page("customers", page_token=None, updated_since=None)
    assert err.value.exit_code == EXIT_AUTH
    assert str(err.value) == (
        "Chargebee rejected the API key for site acme-test (401 api_authentication_failed): set "
        "CHARGEBEE_API_KEY to a key of acme-test (test sites end in -test and have their own keys)"
    )
    assert "live_other_site_key_0000" not in str(err.value)


def test_a_key_without_read_access_names_the_permission(site, serve, connect):
    server = serve(site, denied={"restricted_key": {"invoices"}})
    provider = connect(server, key="restricted_key")
    assert provider.list_page("customers", page_token=None, updated_since=None).objects
    with pytest.raises(PermissionDenied) as err:
        provider.list_page("invoices", page_token=None, updated_since=None)
    assert err.value.exit_code == EXIT_PERMISSION
    assert str(err.value) == (
        "the API key may not read GET /invoices (Invoices: read) (403 api_authorization_failed): give the key "
        "read access in Chargebee's Settings > API Keys, or skip the stream"
    )
    assert provider.check_stream_access("invoices") == str(err.value)
    assert server.stats.by_status[403] == 2     # never retried


def test_configuration_incompatible_is_typed_and_says_what_to_do(legacy_site, serve, connect):
    provider = connect(serve(legacy_site), catalog_version="v2")
    with pytest.raises(CatalogIncompatible) as err:
        provider.list_page("item_prices", page_token=None, updated_since=None)
    assert str(err.value) == (
        "GET /item_prices refused (400 configuration_incompatible): the site acme-test uses the other Product "
        "Catalog version; run `billing-connector doctor` to see which version it has"
    )


def test_5xx_and_bad_bodies_are_retried_then_succeed(site, serve, connect):
    server = serve(site)
    server.faults += [Fault("/customers", status=500), Fault("/customers", status=503), Fault("/customers", bad_json=True)]
    provider = connect(server)
    page = provider.list_page("customers", page_token=None, updated_since=None)
    assert len(page.objects) == 48
    assert server.stats.by_status == {500: 1, 503: 1, 200: 2}


def test_5xx_beyond_the_retry_budget_is_one_line(site, serve, connect):
    server = serve(site)
    server.faults.append(Fault("/coupons", status=500, times=99))
    with pytest.raises(UpstreamUnavailable) as err:
        connect(server).list_page("coupons", page_token=None, updated_since=None)
    assert err.value.exit_code == EXIT_UNAVAILABLE
    assert str(err.value).startswith("provider unavailable on GET /coupons (GET /coupons: 500 internal_error")


def test_a_repeated_offset_stops_the_read(site, serve, connect):
    server = serve(site)
    server.faults.append(Fault("/events", repeat_offset=True))
    provider = connect(server)
    first = provider.list_page("events", page_token=None, updated_since=None)
    with pytest.raises(PaginationError) as err:
        provider.list_page("events", page_token=first.next_token, updated_since=None)
    assert str(err.value) == (
        f"Chargebee list /events would loop (offset {first.next_token!r} repeated): run again; if it persists, report it"
    )


def test_an_offset_seen_twice_in_one_read_stops_it(monkeypatch, site, serve, connect):
    provider = connect(serve(site))
    pages = iter(["a", "b", "a"])
    from connector.providers.base import Page

    monkeypatch.setattr(provider, "list_page", lambda *a, **k: Page([{"id": "x"}], next(pages)))
    with pytest.raises(PaginationError) as err:
        list(provider.iter_pages("customers"))
    assert str(err.value) == "Chargebee list customers returned offset 'a' twice: run again"


def test_a_non_loopback_base_is_refused_before_any_request():
    with pytest.raises(ConfigError) as err:
        site_base_url("acme", "https://evil.example.com/api/v2")
    assert str(err.value) == "Chargebee API base 'evil.example.com' is not loopback: only https://SITE.chargebee.com is used"
    assert site_base_url("acme") == "https://acme.chargebee.com/api/v2"
    assert site_base_url("acme-test", "http://127.0.0.1:9/api/v2/") == "http://127.0.0.1:9/api/v2"


@pytest.mark.parametrize("site", ["", "Acme", "acme.chargebee.com", "-acme", "a b"])
def test_a_malformed_site_is_refused(site):
    with pytest.raises(ConfigError) as err:
        site_base_url(site)
    assert str(err.value) == f"Chargebee site {site!r} is not a site name: use e.g. --site acme or --site acme-test"


def test_the_key_comes_from_the_environment_only():
    assert api_key_from_env({"CHARGEBEE_API_KEY": " test_abc "}) == "test_abc"
    with pytest.raises(AuthError) as err:
        api_key_from_env({})
    assert str(err.value) == "CHARGEBEE_API_KEY is not set: export a read-only API key of the Chargebee site"


@responses.activate
def test_a_site_that_does_not_resolve_is_a_usage_error():
    # What requests raises for an unknown host: MaxRetryError wrapping urllib3's NameResolutionError.
    unresolved = urllib3.exceptions.NameResolutionError(
        "nosuchsite.chargebee.com", None, socket.gaierror(-2, "Name or service not known"))
    responses.add(responses.GET, "https://nosuchsite.chargebee.com/api/v2/customers",
                  body=requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/api/v2/customers", unresolved)))
    provider = ChargebeeProvider("nosuchsite", DEFAULT_KEY, budget=MinuteBudget(10))
    with pytest.raises(ConfigError) as err:
        provider.list_page("customers", page_token=None, updated_since=None)
    assert str(err.value) == "the Chargebee site nosuchsite does not resolve: check --site (e.g. acme or acme-test)"


@pytest.mark.parametrize("status, body, expected", [
    (404, b'{"api_error_code": "site_not_found", "message": "x"}', ConfigError),
    (404, b'{"api_error_code": "resource_not_found", "message": "x"}', PermissionDenied),
    (409, b'{"api_error_code": "lock_timeout", "message": "x"}', Exception),
    (400, b'{"api_error_code": "param_wrong_value", "message": "limit : bad"}', Exception),
])
def test_classification_of_other_codes(status, body, expected):
    error = classify(status, body, {}, what="GET /x", site="acme")
    assert isinstance(error, expected)
    if status == 409:
        assert type(error).__name__ == "Retryable"
    if status == 400:
        assert str(error) == "Chargebee refused GET /x (400 param_wrong_value): limit : bad"


def test_a_list_that_stops_midway_resumes_from_its_last_token(site, serve, connect):
    server = serve(site)
    provider = connect(server)
    first = provider.list_page("invoices", page_token=None, updated_since=None)
    server.faults.append(Fault("/invoices", status=503, times=4))
    with pytest.raises(UpstreamUnavailable) as err:
        provider.list_page("invoices", page_token=first.next_token, updated_since=None)
    assert "the sync resumes from its last committed page" in str(err.value)
    # The fault has passed: the stored token picks up exactly where the read stopped.
    ids = [o["id"] for o in first.objects]
    token = first.next_token
    while token is not None:
        page = provider.list_page("invoices", page_token=token, updated_since=None)
        ids += [o["id"] for o in page.objects]
        token = page.next_token
    assert ids == [i["id"] for i in site.objects["invoices"]]


@responses.activate
def test_a_refused_connection_is_retried_not_a_site_error():
    responses.add(responses.GET, "https://acme.chargebee.com/api/v2/coupons",
                  body=requests.ConnectionError("Connection refused"))
    responses.add(responses.GET, "https://acme.chargebee.com/api/v2/coupons", json={"list": []})
    provider = ChargebeeProvider("acme", DEFAULT_KEY, budget=MinuteBudget(10), retry_policy=FAST)
    assert provider.list_page("coupons", page_token=None, updated_since=None).objects == []
    assert len(responses.calls) == 2
