"""An HTTP server on 127.0.0.1 that speaks Chargebee API v2 for a fake site.

Python: ``with FakeChargebee(build_site(seed=1), per_minute=150) as server:`` then
point the adapter (or the official SDK) at ``server.url``
(``http://127.0.0.1:PORT/api/v2``). CLI::

    python -m connector.demo_chargebee.server --customers 48 --per-minute 150

prints ``listening on http://127.0.0.1:PORT/api/v2`` and serves until SIGTERM.

Each request, in order: auth (HTTP basic, the key as user name; 401 with
Chargebee's body otherwise), the site's limits (more than ``per_minute``
requests in the current minute, or more than ``concurrency`` in flight: 429
``api_request_limit_exceeded`` with ``Retry-After``: the seconds left in the
minute), permissions (a key in ``denied`` may not read the listed streams:
403), injected faults (:class:`Fault`), then the answer (``api.py``). Time comes
from an injectable clock, so tests drive minutes of traffic without sleeping.
``stats`` counts requests per status and per minute window, the most in flight,
and keeps every request's path and parameters (never the key).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .account import build_site
from .api import SiteApi
from .errors import AUTH_FAILED, INTERNAL, RATE_LIMITED, error_body

DEFAULT_KEY = "test_fakekey_chargebee"
_WRONG_FORMAT = "Sorry,authentication failed.The basic authentication header has invalid format."


@dataclass
class Fault:
    """An injected failure for requests whose path starts with ``path`` (under /api/v2).

    ``status``: answer that status with Chargebee's body (500 internal_error,
    503 internal_temporary_error, 429, ...); ``repeat_offset``: answer the list
    but hand back the offset the request sent (a list that would loop);
    ``bad_json``: a 200 whose body is not JSON. ``times`` is how many requests
    it hits (then it is spent); ``follow_ups_only`` spares a list's first page
    (a list that stops midway).
    """

    path: str
    status: int | None = None
    repeat_offset: bool = False
    bad_json: bool = False
    times: int = 1
    retry_after: int | None = None
    follow_ups_only: bool = False


@dataclass
class Stats:
    total: int = 0
    by_status: Counter = field(default_factory=Counter)
    windows: Counter = field(default_factory=Counter)     # minute index -> requests that arrived in it
    in_flight: int = 0
    max_in_flight: int = 0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def rate_limited(self) -> int:
        return self.by_status[429]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-chargebee"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - quiet: the demo prints its own lines
        return

    def do_GET(self):
        fake: FakeChargebee = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        status, headers, body = fake.answer(url.path, params, self.headers.get("Authorization", ""))
        if fake.latency:
            time.sleep(fake.latency)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeChargebee:
    def __init__(
        self,
        site=None,
        *,
        api_key: str = DEFAULT_KEY,
        per_minute: int = 150,
        concurrency: int | None = None,
        now: Callable[[], float] = time.monotonic,
        denied: dict[str, set[str]] | None = None,
        line_items_embedded: int | None = None,
        latency: float = 0.0,
    ):
        self.site = site if site is not None else build_site()
        self.api = SiteApi(self.site) if line_items_embedded is None else SiteApi(self.site, line_items_embedded)
        self.api_key = api_key
        self.per_minute = per_minute
        self.concurrency = concurrency
        self.now = now
        self.denied = denied or {}
        self.latency = latency   # seconds before each answer (a kill -9 test needs time to land mid-sync)
        self.faults: list[Fault] = []
        self.stats = Stats()
        self._lock = threading.Lock()         # stats and faults
        self._data_lock = threading.Lock()    # the site: answers and mutations
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v2"

    def start(self) -> "FakeChargebee":
        self._server = _HttpServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-chargebee", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeChargebee":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def mutate(self, change: Callable[..., None], *args) -> None:
        """Apply ``change(site, *args)`` (see mutations.py) atomically with respect to requests."""
        with self._data_lock:
            change(self.site, *args)
            self.api.reindex()

    # ---- one request -------------------------------------------------------------
    def _authorized(self, header: str) -> bool | None:
        """True for the site's key, False for another key, None for a malformed header."""
        if not header.startswith("Basic "):
            return None
        try:
            user = base64.b64decode(header[6:]).decode("latin1").split(":", 1)[0]
        except ValueError:
            return None
        return user == self.api_key or user in self.denied

    def _fault(self, path: str, params: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (fault.repeat_offset or fault.follow_ups_only) and "offset" not in params:
                    continue   # only a follow-up page can hand its offset back (or stop the list midway)
                if fault.times > 0 and path.startswith("/api/v2" + fault.path):
                    fault.times -= 1
                    return fault
        return None

    def answer(self, path: str, params: dict[str, str], authorization: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            now = self.now()
            window = int(now // 60)
            self.stats.total += 1
            self.stats.windows[window] += 1
            self.stats.requests.append((path, dict(params)))
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            over = self.stats.windows[window] > self.per_minute or (
                self.concurrency is not None and self.stats.in_flight > self.concurrency)
            retry_after = max(1, math.ceil((window + 1) * 60 - now))
        try:
            status, headers, body = self._answer(path, params, authorization, over, retry_after)
        finally:
            with self._lock:
                self.stats.in_flight -= 1
        with self._lock:
            self.stats.by_status[status] += 1
        return status, headers, body

    def _answer(self, path, params, authorization, over, retry_after) -> tuple[int, dict[str, str], bytes]:
        def error(status: int, code: str, message: str, error_code: str | None = None, headers=None):
            return status, headers or {}, json.dumps(error_body(status, code, message, error_code)).encode()

        ok = self._authorized(authorization)
        if ok is None:
            return error(401, "api_authentication_failed", _WRONG_FORMAT, "api_authentication_wrong_format")
        if not ok:
            return error(401, "api_authentication_failed", AUTH_FAILED, "api_authentication_invalid_credentials")
        if over:
            return error(429, "api_request_limit_exceeded", RATE_LIMITED, headers={"Retry-After": str(retry_after)})
        key = base64.b64decode(authorization[6:]).decode("latin1").split(":", 1)[0]
        stream = path.split("/")[3] if path.count("/") >= 3 else ""
        if stream in self.denied.get(key, set()):
            return error(403, "api_authorization_failed",
                         "Sorry, authorization failed. The key does not have the required permissions")
        fault = self._fault(path, params)
        if fault is not None and fault.status is not None:
            code = {429: "api_request_limit_exceeded", 503: "internal_temporary_error"}.get(fault.status, "internal_error")
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            message = RATE_LIMITED if fault.status == 429 else INTERNAL
            return error(fault.status, code, message, headers=headers)
        if fault is not None and fault.bad_json:
            return 200, {}, b"<html>upstream reset</html>"
        with self._data_lock:
            status, body = self.api.handle(path, params)
        if fault is not None and fault.repeat_offset and "offset" in params and "next_offset" in body:
            body["next_offset"] = params["offset"]
        return status, {}, json.dumps(body).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake Chargebee site on 127.0.0.1")
    parser.add_argument("--customers", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--catalog", choices=("v2", "v1"), default="v2")
    parser.add_argument("--per-minute", type=int, default=150)
    args = parser.parse_args(argv)
    server = FakeChargebee(build_site(seed=args.seed, customers=args.customers, catalog=args.catalog),
                           per_minute=args.per_minute).start()
    print(f"listening on {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
