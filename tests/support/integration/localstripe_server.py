"""Run `localstripe` (a stateful fake Stripe written by others) on 127.0.0.1 for one test module.

localstripe's own ``start()`` binds every interface (``::``) and reloads
``/tmp/localstripe.pickle``; so we run its aiohttp app ourselves, bound to
127.0.0.1 on a free port, in a child process. The child also turns off
localstripe's dump of the whole store to ``/tmp/localstripe.pickle`` after every
write: that file is shared by every localstripe on the machine (a parallel run
would read our data), and pickling the store on each write is most of its cost.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tests.support.integration.child_process import stop_child

_CHILD = """
import sys
from aiohttp import web
from localstripe import resources
from localstripe.server import app

from localstripe import errors

resources.Store.dump_to_disk = lambda self: None  # see the module docstring: no shared /tmp file

# localstripe answers a missing object with a bare 404 'Not Found'; Stripe adds
# `code: resource_missing`, the only 404 the connector takes as proof of a delete.
_user_error_init = errors.UserError.__init__


def _stripe_404(self, code, message=None, contents=None):
    if code == 404 and message == "Not Found" and contents is None:
        contents = {"code": "resource_missing", "param": "id"}
        message = "No such object"
    _user_error_init(self, code, message, contents)


errors.UserError.__init__ = _stripe_404
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

STARTUP_SECONDS = 20.0
# The free port is picked before the child binds it; another process may take it in between.
BIND_ATTEMPTS = 3


class _ExitedEarly(Exception):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_answering(process: subprocess.Popen, base: str, api_key: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise _ExitedEarly(f"localstripe exited with code {process.returncode} before answering on {base}")
        try:
            response = requests.get(f"{base}/v1/customers", auth=(api_key, ""), timeout=1)
            response.raise_for_status()  # a 401 here would mean the key is not sent as localstripe expects
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"localstripe did not answer on {base} within {STARTUP_SECONDS:.0f}s") from None
            time.sleep(0.05)


@contextmanager
def running_localstripe(api_key: str) -> Iterator[str]:
    """A fresh, empty localstripe; yields its base URL and stops it on exit.

    Its stderr goes to a temporary file (a pipe nobody reads could fill and
    stall the server) and is shown if it fails to start.
    """
    with tempfile.TemporaryFile(mode="w+") as errors:
        for attempt in range(1, BIND_ATTEMPTS + 1):
            base = f"http://127.0.0.1:{_free_port()}"
            process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, base.rsplit(":", 1)[1]], stdout=subprocess.DEVNULL, stderr=errors
            )
            try:
                _wait_until_answering(process, base, api_key)
                break
            except _ExitedEarly as exc:
                if attempt == BIND_ATTEMPTS:
                    errors.seek(0)
                    raise RuntimeError(f"{exc}; its stderr:\n{errors.read()[-4000:]}") from None
            except BaseException:
                stop_child(process)
                raise
        try:
            yield base
        finally:
            stop_child(process)
