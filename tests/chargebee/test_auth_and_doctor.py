"""`auth` and `doctor` for a Chargebee site: settings name the provider and the site, the key comes from
CHARGEBEE_API_KEY, and the provider-generic `app.auth` and `doctor.check_api` report the site, its
catalog and the key's reach stream by stream."""

from __future__ import annotations

from connector import app, doctor
from connector.config import Settings
from connector.providers.base import Provider
from connector.providers.chargebee_catalog import PC2, streams_for


def _settings(server=None):
    if server is None:
        return Settings()   # check_api reads nothing provider-specific from them
    return Settings(provider="chargebee", chargebee_site=server.site.name, chargebee_api_base=server.url)


def test_the_provider_satisfies_the_proposed_interface(site, serve, connect):
    assert isinstance(connect(serve(site)), Provider)


def test_auth_reports_the_site_and_every_streams_access(site, serve, connect, monkeypatch):
    server = serve(site, denied={"test_restricted_0000": {"transactions"}})
    monkeypatch.setenv("CHARGEBEE_API_KEY", "test_restricted_0000")
    info = app.auth(_settings(server))
    assert {k: info[k] for k in ("account_id", "mode", "key", "api_version")} == {
        "account_id": "acme-test", "mode": "test", "key": "Chargebee API key, test site, ending …0000",
        "api_version": "v2/pc2"}
    assert [row["stream"] for row in info["streams"] if not row["readable"]] == ["transactions"]
    assert {row["stream"] for row in info["streams"]} == {*streams_for(PC2), "events"}

    checks, account = doctor.check_api(_settings(), auth=lambda _: info)
    assert account == ("acme-test", "test")
    assert checks[0] == doctor.Check("API", "ok", "account acme-test (test mode), API version v2/pc2")
    failing = [c for c in checks if c.status != "ok"]
    assert [(c.name, c.status) for c in failing] == [("read transactions", "error")]
    assert failing[0].detail.startswith("the API key may not read GET /transactions (Transactions: read)")
