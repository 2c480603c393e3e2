"""A FakeStripe served over real HTTP on 127.0.0.1 (any port), for tests that run the CLI end to end.

The fake's request handler is the same one `responses` drives; only the
transport differs, so a hostile answer is written once as a FakeStripe fault.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

from .fakestripe import FakeStripe


class LoopbackStripe:
    def __init__(self, fake: FakeStripe):
        self.fake = fake
        fake_ref = fake

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                status, headers, body = fake_ref._handle(SimpleNamespace(url="http://127.0.0.1" + self.path))
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "LoopbackStripe":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
