"""The one loopback HTTP server of the tests, for answers written in Python.

A :class:`LoopbackServer` listens on 127.0.0.1 (port 0), records every request
and answers each with what its ``answer`` function returns: a :class:`Reply`
(status, body, headers), or a callable that writes the raw response itself
(to trickle bytes, for instance); a ``CONNECT`` (a proxy's tunnel) is recorded and
refused, and ``tls`` serves https. Unless told ``account=None`` it serves
``/v1/account`` (every sync starts there) and an empty
``/v1/test_helpers/test_clocks`` by itself, so a hostile answer only handles
what it is about. :class:`LoopbackStripe` is the same server answering with a
FakeStripe: the request handler `responses` drives, over real HTTP, for tests
that run the CLI end to end. Use either as a context manager: the test that
starts it stops it.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.fakestripe import FakeStripe

ACCOUNT = {"id": "acct_hostile", "object": "account"}


class _QuietOnHangUps(ThreadingHTTPServer):
    """A client closing its kept-alive connection (a sync's pool at its end, a deadline) is no error of
    the server's: socketserver would print its traceback into the output of the run under test."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    target: str  # the request line's path and query, as sent
    client_port: int = 0  # the port of the connection it came on (keep-alive reuses one)


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def stripe_list(url: str, objects: list[dict[str, Any]], has_more: bool) -> Reply:
    return Reply(200, {"object": "list", "url": url, "data": objects, "has_more": has_more})


def stripe_error(status: int, message: str, **fields: Any) -> Reply:
    return Reply(status, {"error": {"type": "invalid_request_error", "message": message, **fields}})


Answer = Callable[[Request], "Reply | Callable[[BaseHTTPRequestHandler], None]"]


def trickled_bytes(server: "LoopbackServer", data: bytes, pause: float = 0.1, at_once: bytes = b""
                   ) -> Callable[[BaseHTTPRequestHandler], None]:
    """An answer written raw: ``at_once`` first, then ``data`` one byte every ``pause`` seconds (a status
    line or headers that never end). Stops when the server does."""
    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(at_once)
        handler.wfile.flush()
        for byte in data:
            if server.stopping.is_set():
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(pause)
    return write


def trickled(server: "LoopbackServer", body: bytes, pause: float = 0.2) -> Callable[[BaseHTTPRequestHandler], None]:
    """An answer writing a 200 with ``body`` one byte every ``pause`` seconds: each read is well inside a
    client's read timeout, the whole response far past its total deadline. Stops when the server does."""
    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        trickled_bytes(server, body, pause)(handler)
    return write


class LoopbackServer:
    def __init__(self, answer: Answer, *, account: dict[str, Any] | None = ACCOUNT, tls: ssl.SSLContext | None = None):
        self.answer = answer
        self.requests: list[Request] = []
        self.stopping = threading.Event()  # trickling writers stop when it is set
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep the test output clean
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                request = Request("GET", parts.path, dict(parse_qsl(parts.query)), dict(self.headers.items()), self.path,
                                  self.client_address[1])
                server.requests.append(request)
                if account is not None and parts.path == "/v1/account":
                    reply: Any = Reply(200, account)
                elif account is not None and parts.path == "/v1/test_helpers/test_clocks":  # a test-mode read lists them first: none here
                    reply = stripe_list(parts.path, [], False)
                else:
                    reply = server.answer(request)
                if callable(reply):
                    try:
                        reply(self)
                    except OSError:
                        pass  # the client gave up mid-answer (a deadline): what the test is about
                    return
                payload = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", "Content-Length": str(len(payload)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a deadline, a size cap): what the test is about

            def do_CONNECT(self) -> None:  # noqa: N802 - a proxy's tunnel request: recorded, refused
                server.requests.append(Request("CONNECT", self.path, {}, dict(self.headers.items()), self.path,
                                               self.client_address[1]))
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = _QuietOnHangUps(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._scheme = "http" if tls is None else "https"
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class LoopbackStripe(LoopbackServer):
    """A FakeStripe served over HTTP: its answers, account and faults included, come from the fake."""

    def __init__(self, fake: FakeStripe):
        self.fake = fake
        super().__init__(self._answer_from_fake, account=None)

    def _answer_from_fake(self, request: Request) -> Reply:
        status, headers, body = self.fake.handle("http://127.0.0.1" + request.target)
        return Reply(status, body.encode(), headers)
