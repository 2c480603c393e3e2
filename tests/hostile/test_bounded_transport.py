"""What ``bounded_http`` decides itself now that no ``requests.Session`` decides it per request: the
environment's proxy for https only (NO_PROXY honoured), never for plain http; the CA bundle from the
environment; Basic auth and query parameters; the encodings asked for; one kept-alive connection;
and the watchdog waking for a deadline earlier than every other."""

from __future__ import annotations

import base64
import gc
import threading
import time

import pytest

from connector.bounded_http import BoundedRequester, _Watchdog
from connector.errors import ConfigError, ConnectorError
from connector.http import Retryable
from connector.providers.stripe_transport import BoundedHTTPClient
from tests.support.loopback import LoopbackServer, Reply
from tests.support.tls import self_signed

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in PROXY_VARIABLES + CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def ok(request):
    return Reply(200, {"ok": True})


def never_called(request):
    raise AssertionError(f"no request may reach this server: {request.method} {request.path}")


@pytest.fixture
def tls_api(tmp_path):
    cert, context = self_signed(tmp_path)
    with LoopbackServer(ok, account=None, tls=context) as server:
        yield server, str(cert)


def test_https_goes_through_the_environment_proxy(monkeypatch):
    with LoopbackServer(never_called, account=None) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(Retryable, match=r"connection failed \(ProxyError\)"):
            BoundedRequester(5).request("GET", "https://api.stripe.invalid/v1/customers", what="GET /v1/customers")
    assert [(r.method, r.path) for r in proxy.requests] == [("CONNECT", "api.stripe.invalid:443")]


def test_no_proxy_exempts_a_host_from_the_environment_proxy(monkeypatch, tls_api):
    api, cert = tls_api
    with LoopbackServer(never_called, account=None) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        response = BoundedRequester(5).request("GET", api.url + "/v1/customers", what="GET /v1/customers", verify=cert)
        assert proxy.requests == []
    assert (response.status, response.body) == (200, b'{"ok": true}')


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_plain_http_never_goes_through_the_environment_proxy(monkeypatch, variable):
    with LoopbackServer(ok, account=None) as api, LoopbackServer(never_called, account=None) as proxy:
        monkeypatch.setenv(variable, proxy.url)
        response = BoundedRequester(5).request("GET", api.url + "/v1/customers", what="GET /v1/customers")
        assert proxy.requests == []
    assert response.status == 200
    assert api.paths() == ["/v1/customers"]


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_the_ca_bundle_from_the_environment_is_trusted(monkeypatch, tls_api, variable):
    api, cert = tls_api
    monkeypatch.setenv(variable, cert)
    assert BoundedRequester(5).request("GET", api.url + "/v1/customers", what="GET /v1/customers").status == 200


def test_an_explicit_ca_bundle_wins_over_the_environment(monkeypatch, tls_api, tmp_path):
    api, cert = tls_api
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    response = BoundedRequester(5).request("GET", api.url + "/v1/customers", what="GET /v1/customers", verify=cert)
    assert response.status == 200


def test_a_certificate_that_does_not_verify_is_final(tls_api):
    api, _cert = tls_api
    with pytest.raises(ConnectorError) as err:
        BoundedRequester(5).request("GET", api.url + "/v1/customers", what="GET /v1/customers")
    assert not isinstance(err.value, Retryable)
    assert str(err.value) == "GET /v1/customers: the server's TLS certificate did not verify; refusing to send the key there"
    assert api.requests == []


def test_basic_auth_query_parameters_and_the_encodings_asked_for():
    with LoopbackServer(ok, account=None) as api:
        BoundedRequester(5).request(
            "GET", api.url + "/api/v2/customers?include_deleted=true", what="GET /customers",
            params={"limit": "100", "sort_by[asc]": "created_at", "offset": "a b/c"}, auth=("test_key0", ""),
            headers={"Accept": "application/json", "User-Agent": "billing-connector"},
        )
    (request,) = api.requests
    assert request.target == (
        "/api/v2/customers?include_deleted=true&limit=100&sort_by%5Basc%5D=created_at&offset=a+b%2Fc")
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"test_key0:").decode()
    assert (request.headers["Accept-Encoding"], request.headers["Accept"], request.headers["User-Agent"]) == (
        "gzip, deflate", "application/json", "billing-connector")


def test_requests_in_a_row_share_one_kept_alive_connection():
    requester = BoundedRequester(5)
    with LoopbackServer(ok, account=None) as api:
        for _ in range(3):
            requester.request("GET", api.url + "/v1/customers", what="GET /v1/customers")
    assert len({r.client_port for r in api.requests}) == 1 and len(api.requests) == 3


def test_threads_sharing_a_requester_each_keep_their_connection():
    requester = BoundedRequester(5)
    barrier = threading.Barrier(3)

    def fetch():
        barrier.wait()
        for _ in range(2):
            requester.request("GET", api.url + "/v1/customers", what="GET /v1/customers")

    with LoopbackServer(ok, account=None) as api:
        threads = [threading.Thread(target=fetch) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(api.requests) == 6
    assert len({r.client_port for r in api.requests}) == 3


class _Recorded:
    def __init__(self, deadline: float):
        self.deadline = deadline
        self.expired = threading.Event()

    def expire(self) -> bool:
        self.expired.set()
        return True


class _SignallingCondition(threading.Condition):
    """Says when the watchdog thread has gone to sleep (it holds the lock until the wait releases it)."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout=None):
        self.waiting.set()
        return super().wait(timeout)


def test_the_watchdog_wakes_for_a_deadline_earlier_than_the_one_it_waits_for():
    watchdog = _Watchdog()
    watchdog._cond = _SignallingCondition()
    late, soon = _Recorded(time.monotonic() + 3600), _Recorded(time.monotonic() + 0.1)
    watchdog.watch(late)
    assert watchdog._cond.waiting.wait(30)   # asleep until an hour from now
    watchdog.watch(soon)
    assert soon.expired.wait(30)
    assert not late.expired.is_set()


def test_the_stripe_transport_refuses_each_request_to_an_origin_the_key_may_not_go_to():
    client = BoundedHTTPClient(timeout=5)
    with LoopbackServer(ok, account=None) as api:
        assert client.request("get", api.url + "/v1/customers", {})[1] == 200
        refused = []
        for url in ("http://127.0.0.2:9/v1/customers?limit=1", "http://127.0.0.1@evil.example/v1/customers",
                    "ftp://127.0.0.1/v1/customers"):
            with pytest.raises(ConfigError) as err:
                client.request("get", url, {})
            refused.append(str(err.value))
        assert client.request("get", api.url + "/v1/customers", {})[1] == 200
    assert refused == [
        "request URL http://127.0.0.2:9 is plain http to 127.0.0.2: the API key would travel unencrypted; "
        "use https:// (plain http is allowed only to localhost, 127.0.0.1 or ::1)",
        "request URL 'http://127.0.0.1@evil.example' has user info or control characters in it; use https://host",
        "request URL 'ftp://127.0.0.1' is not an http(s) URL; use https://host",
    ]
    assert api.paths() == ["/v1/customers", "/v1/customers"]


def test_close_reaches_another_thread_and_a_finished_thread_leaves_no_adapter_behind():
    requester = BoundedRequester(5)
    fetched, release = threading.Event(), threading.Event()

    def fetch():
        requester.request("GET", api.url + "/v1/customers", what="GET /v1/customers")
        fetched.set()
        release.wait(30)

    with LoopbackServer(ok, account=None) as api:
        worker = threading.Thread(target=fetch)
        worker.start()
        assert fetched.wait(30)
        (adapter,) = requester._adapters
        assert len(adapter.poolmanager.pools) == 1
        requester.close()
        assert len(adapter.poolmanager.pools) == 0
        release.set()
        worker.join()
    del worker, adapter
    gc.collect()
    assert len(requester._adapters) == 0   # its pools and kept-alive sockets went with the thread


class _Counting(threading.Condition):
    """Counts the watchdog thread's waits (each one a wake-up of that thread)."""

    def __init__(self):
        super().__init__()
        self.waits = 0

    def wait(self, timeout=None):
        self.waits += 1
        return super().wait(timeout)


class _Timed:
    def __init__(self, deadline: float):
        self.deadline = deadline
        self.expired_at: float | None = None
        self.expired = threading.Event()

    def expire(self) -> bool:
        self.expired_at = time.monotonic()
        self.expired.set()
        return True


def test_the_watchdog_expires_deadlines_close_together_in_a_few_wake_ups_and_none_early():
    """Every request's deadline passes (a finished one's too), one every 10 ms at Stripe's limit: the
    watchdog must not wake for each (a wake-up per request, each taking the GIL from the parsers)."""
    watchdog = _Watchdog()
    watchdog._cond = _Counting()
    start = time.monotonic() + 0.2
    guards = [_Timed(start + 0.01 * i) for i in range(60)]   # 60 deadlines over 0.6 s
    for guard in guards:
        watchdog.watch(guard)
    assert guards[-1].expired.wait(30)
    assert all(guard.expired.is_set() for guard in guards)
    assert all(guard.expired_at >= guard.deadline for guard in guards)   # never cut before its deadline
    assert watchdog._cond.waits <= 15, watchdog._cond.waits   # about one per 0.25 s, not one per deadline
