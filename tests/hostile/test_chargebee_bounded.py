"""Issue 14 for the second provider: a hostile server gets no more out of the Chargebee adapter
than out of the Stripe one — every request bounded in time and size, no redirect followed, the
key never over cleartext to anything but this machine named exactly, deep JSON and absurd
``Retry-After`` values answered with one line, and server text redacted."""

from __future__ import annotations

import base64
import gzip

import pytest

from connector.providers.chargebee import ChargebeeProvider
from connector.providers.chargebee_budget import MAX_RETRY_AFTER_SECONDS, WINDOW_SECONDS, MinuteBudget
from tests.support.chargebee.clock import FAST_RETRIES, FakeClock
from tests.support.cli import FAST, last_line, run_cli
from tests.support.loopback import LoopbackServer, Reply, trickled

KEY = "test_cbCANARY0secret0never0printed0Zq"
NO_CONFIGURATIONS = Reply(404, {"api_error_code": "resource_not_found", "message": "no such endpoint"})


def sync(url: str, tmp_path, **env: str):
    environ = {"CHARGEBEE_API_KEY": KEY, "CHARGEBEE_API_BASE": url, **FAST, **env}
    result = run_cli(["sync", "--provider", "chargebee", "--site", "acme-test", "--db", str(tmp_path / "c.db"),
                      "--quiet"], base=None, key=None, env=environ)
    for stream in (result.stdout, result.stderr):
        assert KEY not in stream and base64.b64encode(f"{KEY}:".encode()).decode() not in stream
    return result


def never_called(request):
    raise AssertionError(f"no request may reach the server: {request.path}")


def test_a_gzip_bomb_stops_at_the_size_cap(tmp_path):
    bomb = gzip.compress(b'{"list": [' + b" " * (40 * 1024 * 1024) + b"]}", compresslevel=9)
    assert len(bomb) < 100 * 1024
    with LoopbackServer(lambda request: Reply(200, bomb, {"Content-Encoding": "gzip"}), account=None) as server:
        result = sync(server.url, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == (
        "error: GET /configurations: the response is larger than 32 MiB decompressed (the limit); "
        "refusing it: is the API base Chargebee's API?"
    )
    assert len(server.requests) == 1   # final: a bomb is not retried


def test_a_trickling_response_is_cut_at_the_deadline(tmp_path):
    def trickle(request):
        return trickled(server, b'{"list": [], "next_offset": null}')

    with LoopbackServer(trickle, account=None) as server:
        result = sync(server.url, tmp_path)
    assert result.exit_code == 6
    assert last_line(result.stderr) == (
        "error: provider unavailable on GET /configurations (no complete response within 1s) after retries: "
        "run again later; the sync resumes from its last committed page"
    )
    assert len(server.requests) == 2   # BILLING_CONNECTOR_MAX_RETRIES


def test_a_redirect_is_never_followed(tmp_path):
    redirect = Reply(302, b"", {"Location": "http://billing-mirror.example/api/v2/configurations"})
    with LoopbackServer(lambda request: redirect, account=None) as server:
        result = sync(server.url, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == "error: Chargebee refused GET /configurations (302): no message"
    assert [r.path for r in server.requests] == ["/configurations"]


@pytest.mark.parametrize("base, host", [("http://127.0.0.2:{port}", "127.0.0.2"), ("http://127.1:{port}", "127.1")])
def test_plain_http_to_another_loopback_alias_is_refused_before_any_request(tmp_path, base, host):
    with LoopbackServer(never_called, account=None) as server:
        url = base.format(port=server.port)
        result = sync(url, tmp_path)
    assert result.exit_code == 2
    assert last_line(result.stderr) == (
        f"error: api_base {url} is plain http to {host}: the API key would travel unencrypted; "
        "use https:// (plain http is allowed only to localhost, 127.0.0.1 or ::1)"
    )
    assert not (tmp_path / "c.db").exists()


def test_plain_http_through_a_proxy_variable_is_refused(tmp_path):
    with LoopbackServer(never_called, account=None) as api, LoopbackServer(never_called, account=None) as proxy:
        result = sync(api.url, tmp_path, HTTP_PROXY=proxy.url)
    assert result.exit_code == 2
    assert last_line(result.stderr) == (
        f"error: api_base {api.url} is plain http and HTTP_PROXY would send it, with the API key, through a "
        "proxy; unset HTTP_PROXY or add 127.0.0.1 to NO_PROXY"
    )


def test_the_adapter_itself_refuses_cleartext_to_an_alias_or_a_proxy(monkeypatch):
    # the same rule where the provider is built without the CLI (a library caller, the doctor)
    budget = MinuteBudget(100, 1)
    with pytest.raises(Exception, match=r"plain http to 127\.0\.0\.2"):
        ChargebeeProvider("acme-test", KEY, budget=budget, api_base="http://127.0.0.2:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with pytest.raises(Exception, match="ALL_PROXY would send it"):
        ChargebeeProvider("acme-test", KEY, budget=budget, api_base="http://127.0.0.1:9")


@pytest.mark.parametrize("status", [200, 400])
def test_deeply_nested_json_is_a_one_line_error(tmp_path, status):
    deep = b'{"list": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}"
    with LoopbackServer(lambda request: Reply(status, deep), account=None) as server:
        result = sync(server.url, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == {
        200: "error: GET /configurations: the response is JSON nested too deep to read; refusing it",
        400: "error: Chargebee refused GET /configurations (400): no message",
    }[status]


def test_a_server_message_repeating_the_key_is_redacted(tmp_path):
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    echo = Reply(400, {"api_error_code": "invalid_request", "message": f"bad key {KEY}; header Basic {basic}"})
    with LoopbackServer(lambda request: echo, account=None) as server:
        result = sync(server.url, tmp_path)
    assert result.exit_code == 1
    assert last_line(result.stderr) == (
        "error: Chargebee refused GET /configurations (400 invalid_request): bad key [REDACTED]; header Basic [REDACTED]"
    )


@pytest.mark.parametrize("value, waited", [
    ("5", 5.0),                                  # the server's word
    ("90", 90.0),                                # longer than a window: still the server's word
    ("3600", MAX_RETRY_AFTER_SECONDS),           # capped: a hostile value must not stop the run for an hour
    ("inf", WINDOW_SECONDS), ("1e400", WINDOW_SECONDS), ("nan", WINDOW_SECONDS), ("-5", WINDOW_SECONDS),
    ("soon", WINDOW_SECONDS),                    # unusable: the whole window, as without the header
])
def test_a_retry_after_is_honoured_capped_or_replaced_by_the_window(value, waited):
    answers = iter([Reply(429, {"api_error_code": "api_request_limit_exceeded", "message": "slow down"},
                          {"Retry-After": value})])

    def answer(request):
        return next(answers, None) or Reply(200, {"list": [], "next_offset": None})

    clock = FakeClock()
    with LoopbackServer(answer, account=None) as server:
        budget = MinuteBudget(100, 1, clock=clock.as_clock())
        provider = ChargebeeProvider("acme-test", KEY, budget=budget, api_base=server.url, retry_policy=FAST_RETRIES)
        assert provider._get("/customers", {"limit": "1"}) == {"list": [], "next_offset": None}
    assert len(server.requests) == 2
    # the budget's block from the 429 on (the retry's own backoff, hundredths of a second, inside it)
    assert sum(clock.slept) == pytest.approx(waited, abs=0.1)
