"""Issue 14, secrets: the key goes only where it is safe, and no server text carries it out."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from urllib.parse import quote

import pytest

from connector.endpoint_safety import endpoint_problem
from connector.redact import REDACTED, redact, register_secret
from tests.support.keys import CANARY_KEY
from tests.support.cli import last_line, run_cli
from tests.support.loopback import LoopbackServer, stripe_error, stripe_list

PLAIN_HTTP = (
    "plain http to {host}: the API key would travel unencrypted; "
    "use https:// (plain http is allowed only to localhost, 127.0.0.1 or ::1)"
)


def never_called(request):
    raise AssertionError(f"no request may reach the server: {request.path}")


@pytest.mark.parametrize(
    "base, host",
    [
        ("http://billing-mirror.example", "billing-mirror.example"),
        ("http://127.0.0.2:{port}", "127.0.0.2"),
        ("http://127.1:{port}", "127.1"),
        ("http://0x7f000001:{port}", "0x7f000001"),
        ("http://localhost.:{port}", "localhost."),
        ("http://[::ffff:127.0.0.1]:{port}", "::ffff:127.0.0.1"),
    ],
)
def test_plain_http_to_any_other_host_is_refused_before_any_request(tmp_path, base, host):
    with LoopbackServer(never_called) as server:
        url = base.format(port=server.port)
        result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--quiet"], base=url, fast=True)
        assert server.requests == []
    assert result.exit_code == 2
    assert result.stderr == f"error: api_base {url} is {PLAIN_HTTP.format(host=host)}\n"
    assert not (tmp_path / "b.db").exists()


def test_user_info_in_the_base_url_is_refused(tmp_path):
    with LoopbackServer(never_called) as server:
        url = f"http://127.0.0.1@127.0.0.1:{server.port}"
        result = run_cli(["sync", "--db", str(tmp_path / "b.db")], base=url, fast=True)
        assert server.requests == []
    assert result.exit_code == 2
    assert result.stderr == f"error: api_base '{url}' has user info or control characters in it; use https://host\n"


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_plain_http_through_a_proxy_variable_is_refused(tmp_path, variable):
    with LoopbackServer(never_called) as api, LoopbackServer(never_called) as proxy:
        result = run_cli(
            ["sync", "--db", str(tmp_path / "b.db")],
            base=api.url, fast=True, env={variable: proxy.url},
        )
        assert api.requests == [] and proxy.requests == []
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: api_base {api.url} is plain http and {variable} would send it, with the API key, "
        f"through a proxy; unset {variable} or add 127.0.0.1 to NO_PROXY\n"
    )


def test_loopback_named_exactly_is_allowed_and_no_proxy_exempts_it(tmp_path):
    def answer(request):
        return stripe_list("/v1/customers", [{"id": "cus_1", "object": "customer", "created": 1}], False)

    with LoopbackServer(answer) as api, LoopbackServer(never_called) as proxy:
        result = run_cli(
            ["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers", "--skip-mrr", "--quiet"],
            base=api.url, fast=True, env={"HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"},
        )
        assert proxy.requests == []
        assert "/v1/customers" in api.paths()
    assert result.exit_code == 0, result.stderr


def test_endpoint_rules():
    assert endpoint_problem(None, {}) is None  # Stripe itself
    assert endpoint_problem("https://stripe.mirror.example", {"HTTPS_PROXY": "http://proxy:3128"}) is None  # TLS tunnel
    assert endpoint_problem("http://localhost:12111", {}) is None
    assert endpoint_problem("http://[::1]:12111", {}) is None
    assert endpoint_problem("ftp://127.0.0.1/", {}) == "api_base 'ftp://127.0.0.1/' is not an http(s) URL; use https://host"


def test_doctor_reports_an_unsafe_endpoint_as_an_error(tmp_path):
    result = run_cli(
        ["doctor", "--json", "--db", str(tmp_path / "b.db")],
        base="http://billing-mirror.example", fast=True,
    )
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert result.exit_code == 1
    assert checks["API endpoint"]["status"] == "error"
    assert checks["API endpoint"]["detail"] == f"api_base http://billing-mirror.example is {PLAIN_HTTP.format(host='billing-mirror.example')}"
    assert checks["API"]["status"] == "error"
    assert checks["API"]["detail"] == "not checked: the key may not be sent to the configured API base"


def test_doctor_shows_where_each_setting_came_from(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[stripe]\nmax_in_flight = 4\n')
    os.chmod(config, 0o600)
    result = run_cli(
        ["doctor", "--json", "--config", str(config), "--db", str(tmp_path / "b.db")],
        base="http://billing-mirror.example", fast=True,
    )
    detail = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["settings"]["detail"]
    assert "db: flag" in detail.split("; ")
    assert "api_base: env STRIPE_API_BASE" in detail.split("; ")
    assert f"max_in_flight: file {config}" in detail.split("; ")
    assert "policy: default" in detail.split("; ")


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_config_file_others_may_write_may_not_steer_the_key(tmp_path, monkeypatch, mode):
    monkeypatch.chdir(tmp_path)  # the ./config.toml read without --config
    with LoopbackServer(never_called) as server:
        (tmp_path / "config.toml").write_text(f'[stripe]\napi_base = "{server.url}"\n')
        os.chmod(tmp_path / "config.toml", mode)
        result = run_cli(["sync", "--db", str(tmp_path / "b.db")], base=None, fast=True)
        assert server.requests == []
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: config.toml sets stripe.api_base but others may write it (mode {mode:o}); run `chmod 600 config.toml`\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_config_file_owned_by_another_user_may_not_steer_the_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[stripe]\napi_key_env = "OTHER_KEY"\n')
    os.chmod(config, 0o600)
    os.chown(config, 65534, 65534)
    result = run_cli(["sync", "--config", str(config), "--db", str(tmp_path / "b.db")], base=None, fast=True)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {config} sets stripe.api_key_env but is owned by another user (uid 65534); "
        "refusing it: use a config file you own, mode 600\n"
    )


# Another account's live key, built at runtime: no live-key pattern is committed to the repository.
OTHER_LIVE_KEY = "sk_" + "live_" + "51Hother0account0key0AAAA"


def _leaky_message() -> str:
    encoded = base64.b64encode(f"{CANARY_KEY}:".encode()).decode()
    return (
        f"Invalid request. Authorization: Bearer {CANARY_KEY}; also Basic {encoded}; "
        f"url key={quote(CANARY_KEY)}; other key {OTHER_LIVE_KEY}"
    )


@pytest.mark.parametrize("status", [400, 402, 409])
def test_a_server_error_repeating_the_key_is_redacted_everywhere(tmp_path, status):
    def answer(request):
        return stripe_error(status, _leaky_message())

    with LoopbackServer(answer) as server:
        sync = run_cli(
            ["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers", "--quiet"],
            base=server.url, fast=True,
        )
        doctor = run_cli(["doctor", "--json", "--db", str(tmp_path / "b.db")], base=server.url, fast=True)
    assert sync.exit_code == 1
    assert last_line(sync.stderr) == (
        f"error: customers: Stripe refused GET /v1/customers (HTTP {status}): Invalid request. "
        f"Authorization: {REDACTED}; also Basic {REDACTED}; url key=sk_test_{REDACTED}; other key sk_live_{REDACTED}"
    )
    report = doctor.output
    encodings = [base64.b64encode(CANARY_KEY.encode()).decode()[:40], OTHER_LIVE_KEY[:16]]
    assert not [e for e in encodings if e in report + sync.stderr]
    api = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}["API"]
    assert (api["status"], api["detail"]) == ("error", last_line(sync.stderr).removeprefix("error: customers: "))


def test_a_warning_quoting_the_server_is_redacted(tmp_path):
    def answer(request):
        if any(name.startswith("expand") for name in request.query):
            return stripe_error(400, f"This property cannot be expanded (data.tiers). Bearer {CANARY_KEY}")
        return stripe_list("/v1/prices", [], False)

    with LoopbackServer(answer) as server:
        result = run_cli(
            ["sync", "--db", str(tmp_path / "b.db"), "--streams", "prices", "--skip-mrr"],
            base=server.url, fast=True,
        )
    assert result.exit_code == 0, result.stderr
    assert f"Bearer {REDACTED}" in result.stderr


def test_redact_finds_the_key_in_every_encoding():
    register_secret(CANARY_KEY)
    for prefix in ("", "x", "xy"):  # every base64 alignment
        blob = base64.b64encode(f"{prefix}{CANARY_KEY}:".encode()).decode()
        assert CANARY_KEY[4:20] not in redact(blob) and redact(blob) != blob
        assert redact(quote(blob, safe="")) != quote(blob, safe="")
    assert redact("authorization=Bearer abc.def-123") == f"authorization={REDACTED}"
    assert redact('{"Authorization": "Bearer zzzz1234"}') == f'{{"Authorization": "{REDACTED}"}}'
    assert redact("rk_test_abcdEFGH1234 and pk_live_abcdEFGH1234") == f"rk_test_{REDACTED} and pk_live_{REDACTED}"
    assert redact(redact(CANARY_KEY)) == redact(CANARY_KEY) == f"sk_test_{REDACTED}"
    assert redact("customer cus_123 has no card") == "customer cus_123 has no card"


def _files_holding(folder, needles: list[bytes]) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and any(n in p.read_bytes() for n in needles))


def test_a_server_echoing_the_key_into_an_object_gets_it_neither_stored_nor_exported(tmp_path):
    """The answer is scrubbed before it is parsed: the store, its WAL and every export hold no form of it."""
    def answer(request):
        if request.path == "/v1/customers":
            sent = request.headers.get("Authorization", "")
            echo = {"id": "cus_00000001", "object": "customer", "created": 1_700_000_000,
                    "description": f"you sent {sent}", "metadata": {"token": sent.split()[-1],
                    "b64": base64.b64encode(f"{CANARY_KEY}:".encode()).decode(), "url": quote(CANARY_KEY)}}
            return stripe_list("/v1/customers", [echo], False)
        return stripe_list(request.path, [], False)

    db = tmp_path / "store" / "b.db"
    db.parent.mkdir()
    with LoopbackServer(answer) as server:
        sync = run_cli(["sync", "--db", str(db), "--streams", "customers", "--skip-mrr"], base=server.url, fast=True)
        export = run_cli(["export", "--db", str(db), "--to", f"jsonl:{tmp_path / 'out'}"], base=server.url, fast=True)
    assert sync.exit_code == 0 and export.exit_code == 0, sync.stderr + export.stderr
    assert "GET /v1/customers: the server's answer contained the API key; it was replaced by [REDACTED]" in sync.stderr
    needles = [CANARY_KEY.encode(), quote(CANARY_KEY).encode(), base64.b64encode(CANARY_KEY.encode())[:24]]
    assert _files_holding(tmp_path, needles) == []
    conn = sqlite3.connect(db)
    (raw,) = conn.execute("select data from customers").fetchone()
    conn.close()
    stored = json.loads(raw)
    assert stored["description"] == f"you sent Bearer {REDACTED}"
    # base64 at any alignment: what is left of the Basic form is the last character's few bits and ":"
    assert (stored["metadata"]["token"], stored["metadata"]["url"]) == (REDACTED, REDACTED)
    assert stored["metadata"]["b64"].startswith(REDACTED) and len(stored["metadata"]["b64"]) <= len(REDACTED) + 4
