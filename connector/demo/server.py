"""An HTTP server on 127.0.0.1 that speaks the Stripe API for the demo account.

Python: ``with DemoServer(seed=1, customers=300, latency_ms=0, rate_limit=None) as server:``
then point the Stripe SDK at ``server.url``. CLI (the benchmarks run it in its own process)::

    python -m connector.demo.server --port 0 --customers 300 --seed 1 --latency-ms 250 --rate-limit 25
    python -m connector.demo.server --port 0 --customers 60 --shape seats   # another kind of account (shapes.py)

prints exactly one line, ``listening on http://127.0.0.1:PORT``, and serves until SIGTERM.

Auth: ``Authorization: Bearer <key>`` or HTTP basic auth with the key as user name.
Keys starting ``sk_test_``, ``rk_test_``, ``sk_live_``, ``rk_live_`` are accepted
(objects' ``livemode`` follows the key); anything else gets 401 with the key masked
as Stripe masks it. The key is never logged or stored.

Each API request, in order: latency sleep, auth (401), rate limits (429), targeted
rules then random faults (see ``faults.py``), then the answer (``api.py``).
Control endpoints need no key and bypass all of that:

    GET  /_demo/stats          counters (total, successful, rate_limited, by_status, faults,
                               endpoints, first_request_at, last_request_at, per_second:
                               answers per endpoint in each second from the first request)
    POST /_demo/stats/reset
    GET  /_demo/config         the current knobs;  POST /_demo/config  JSON of knobs to change
    POST /_demo/clock          {"advance_seconds": N} -> {"clock": epoch}
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ..constants import STRIPE_API_VERSION
from .account import DemoAccount
from .api import DemoApi, endpoint_of, error_body
from .faults import FAULT_CLASSES, Realism
from .params import parse_params
from .shapes import SHAPES


_RATE_LIMIT_MESSAGE = ("Request rate limit exceeded. Learn more about rate limits here "
                       "https://stripe.com/docs/rate-limits.")


@dataclass(frozen=True)
class Exchange:
    """One API request and its answer, as recorded with ``DemoServer(record=True)`` (never the key)."""

    method: str
    path: str
    query: list          # [(key, value)] as sent: ``expand[0]``, ``created[gte]``
    stripe_version: str | None
    status: int
    body: bytes


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, kill -9, injected reset) is routine here,
        # not worth a traceback on stderr; anything else still gets one.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-stripe"
    sys_version = ""

    def setup(self):
        super().setup()
        # headers and body leave in two writes; without NODELAY the client's delayed
        # ACK holds the body ~40 ms and a single-connection pager crawls at ~20 req/s
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - silent: request lines could carry ids only, but stay quiet
        return

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # -- plumbing ----------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", "req_" + uuid.uuid4().hex[:14])
        self.send_header("Stripe-Version", STRIPE_API_VERSION)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _key(self) -> str | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() or None
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(value.strip()).decode().split(":", 1)[0] or None
            except (ValueError, UnicodeDecodeError):
                return None
        return None

    def _dispatch(self, method: str) -> None:
        demo: DemoServer = self.server.demo
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path.startswith("/_demo/"):
            self._control(demo, method, parts.path, body)
            return
        query = parse_qsl(parts.query, keep_blank_values=True)
        params = parse_params(query)
        self._exchange = (method, parts.path, query, self.headers.get("Stripe-Version"))
        if method == "POST" and body:
            params.update(parse_params(parse_qsl(body.decode(), keep_blank_values=True)))
        endpoint = endpoint_of(method, parts.path)
        realism = demo.realism
        pause = realism.latency_seconds()
        if pause:
            time.sleep(pause)
        key = self._key()
        refused = demo.api.authenticate(key)
        if refused is not None:
            self._answer(realism, endpoint, refused)
            return
        if not realism.admit(endpoint):
            headers = {"Stripe-Should-Retry": "true"}
            if realism.knobs.retry_after is not None:
                headers["Retry-After"] = str(realism.knobs.retry_after)
            status, _, payload = error_body(429, _RATE_LIMIT_MESSAGE, code="rate_limit")
            self._answer(realism, endpoint, (status, headers, payload))
            return
        fault = realism.fault_for(method, parts.path, params, demo.api.page_number(parts.path, params))
        if fault == "reset":
            realism.count(endpoint, None, fault)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the peer may already be gone; the point is that no response is sent
            return
        if fault == "slow":
            time.sleep(realism.knobs.slow_seconds)
        if fault is not None and fault not in ("slow", "malformed", "truncated"):
            self._answer(realism, endpoint, self._injected(fault, realism.knobs.retry_after), fault)
            return
        status, headers, payload = demo.api.handle(method, parts.path, params, key)
        if fault == "malformed":
            payload = b"<html><body>502 Bad Gateway (injected: not JSON)</body></html>"
        elif fault == "truncated":
            payload = payload[: len(payload) // 2]
        self._answer(realism, endpoint, (status, headers, payload), fault)

    @staticmethod
    def _injected(fault: str, retry_after: int | None) -> tuple:
        """The answer to an injected status: Stripe's own body and headers for that status."""
        status = int(fault) if fault.isdigit() else 500
        headers = {"Stripe-Should-Retry": "true"} if status in (429, 503) else {}
        if status == 429:
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            answer = error_body(429, _RATE_LIMIT_MESSAGE, code="rate_limit")
        elif status >= 500:
            answer = error_body(status, "An unknown error occurred (injected by the demo server).", "api_error")
        else:
            answer = error_body(status, f"Injected failure with status {status}.")
        return answer[0], headers, answer[2]

    def _answer(self, realism: Realism, endpoint: str, answer: tuple, fault: str | None = None) -> None:
        status, headers, payload = answer
        realism.count(endpoint, status, fault)
        if self.server.demo.exchanges is not None:
            self.server.demo.exchanges.append(Exchange(*self._exchange, status, payload))
        self._send(status, payload, headers)

    def _control(self, demo: "DemoServer", method: str, path: str, body: bytes) -> None:
        try:
            payload = json.loads(body) if body.strip() else {}
            if method == "GET" and path == "/_demo/stats":
                result = demo.stats()
            elif method == "POST" and path == "/_demo/stats/reset":
                demo.reset_stats()
                result = demo.stats()
            elif method == "GET" and path == "/_demo/config":
                result = demo.realism.settings()
            elif method == "POST" and path == "/_demo/config":
                result = demo.configure(**payload)
            elif method == "POST" and path == "/_demo/clock":
                result = {"clock": demo.advance_clock(int(payload.get("advance_seconds", 0)))}
            else:
                self._send(404, json.dumps({"error": {"type": "invalid_request_error",
                                                      "message": f"Unknown control endpoint {method} {path}"}}).encode())
                return
        except (ValueError, TypeError) as error:
            self._send(400, json.dumps({"error": {"type": "invalid_request_error", "message": str(error)}}).encode())
            return
        self._send(200, json.dumps(result).encode())


class DemoServer:
    """The demo Stripe API in a background thread; a context manager.

    Knobs (``latency_ms``, ``latency_jitter_ms``, ``rate_limit``, ``per_endpoint_rate_limit``,
    ``retry_after``, ``faults``, ``fault_seed``, ``slow_seconds``, ``rules``,
    ``forbidden_streams``) are keyword arguments here and can change later with
    ``configure(**knobs)`` or ``POST /_demo/config``. ``record=True`` keeps every API
    request and answer in ``exchanges`` (tests hold them to Stripe's definitions).
    """

    def __init__(self, account: DemoAccount | None = None, *, seed: int = 1, customers: int = 300,
                 now: int | None = None, shape: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 record: bool = False, **knobs):
        self.account = account if account is not None else DemoAccount(seed=seed, customers=customers, now=now,
                                                                        shape=shape)
        self.realism = Realism(**knobs)
        self.api = DemoApi(self.account, self.realism)
        self.host, self.port = host, port
        # every API request and answer, for tests that hold both to Stripe's definitions
        self.exchanges: list[Exchange] | None = [] if record else None
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the demo server is not started; call start() or use it as a context manager")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> "DemoServer":
        self._httpd = _HttpServer((self.host, self.port), _Handler)
        self._httpd.demo = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="demo-stripe-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = self._thread = None

    def __enter__(self) -> "DemoServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------------
    def stats(self) -> dict:
        return self.realism.stats()

    def reset_stats(self) -> None:
        self.realism.reset_stats()

    def configure(self, **knobs) -> dict:
        return self.realism.configure(**knobs)

    def advance_clock(self, seconds: int) -> int:
        return self.account.advance_clock(seconds)

    # -- mutations, as the HTTP endpoints do them ------------------------------------------
    def create_customer(self, **params) -> dict:
        return self.account.create_customer(params)

    def update_customer(self, customer_id: str, **params) -> dict:
        return self.account.update_customer(customer_id, params)

    def delete_customer(self, customer_id: str) -> dict:
        return self.account.delete_customer(customer_id)

    def update_subscription(self, subscription_id: str, **params) -> dict:
        return self.account.update_subscription(subscription_id, params)

    def cancel_subscription(self, subscription_id: str) -> dict:
        return self.account.cancel_subscription(subscription_id)

    def create_refund(self, **params) -> dict:
        return self.account.create_refund(params)

    def delete_coupon(self, coupon_id: str) -> dict:
        return self.account.delete_coupon(coupon_id)


def _fault_option(text: str) -> tuple[str, float]:
    name, _, probability = text.partition("=")
    if name not in FAULT_CLASSES or not probability:
        raise argparse.ArgumentTypeError(f"--fault wants CLASS=PROBABILITY with CLASS one of {', '.join(FAULT_CLASSES)}")
    return name, float(probability)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m connector.demo.server",
        description="Serve the demo Stripe account on 127.0.0.1. Example: "
                    "python -m connector.demo.server --port 0 --customers 300 --latency-ms 250 --rate-limit 25",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", type=int, default=None, help="epoch the history ends at (default today 00:00 UTC)")
    parser.add_argument("--shape", choices=list(SHAPES), default=None,
                        help="the kind of business the account is (default saas, the demo's own; see shapes.py)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/s for the account")
    parser.add_argument("--per-endpoint-rate-limit", type=float, default=None, help="requests/s per endpoint")
    parser.add_argument("--retry-after", type=int, default=None, help="Retry-After seconds on 429s")
    parser.add_argument("--fault", type=_fault_option, action="append", default=[],
                        help="CLASS=PROBABILITY, repeatable (classes: " + ", ".join(FAULT_CLASSES) + ")")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--rule", type=json.loads, action="append", default=[],
                        help='targeted fault as JSON, e.g. \'{"path": "/v1/customers", "page": 37, "fault": "500"}\'')
    parser.add_argument("--forbidden-stream", action="append", default=[], help="answer 403 for this stream")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    server = DemoServer(
        seed=args.seed, customers=args.customers, now=args.now, shape=args.shape, host=args.host, port=args.port,
        latency_ms=args.latency_ms, latency_jitter_ms=args.latency_jitter_ms, rate_limit=args.rate_limit,
        per_endpoint_rate_limit=args.per_endpoint_rate_limit, retry_after=args.retry_after,
        faults=dict(args.fault), fault_seed=args.fault_seed, slow_seconds=args.slow_seconds,
        rules=args.rule, forbidden_streams=args.forbidden_stream,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    server.start()
    print(f"listening on {server.url}", flush=True)
    stopping.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
