"""Run the npm package `stripe-stateful-mock` (a stateful fake Stripe written by others) on 127.0.0.1.

Installed on first use with npm into ``.cache/npm`` at the project root (ignored by
git), pinned to one version. Its own start-up (``PORT``, the ``autostart`` script)
listens on every interface, so we start its Express app ourselves through Node's
``http`` server bound to 127.0.0.1 on a port the OS picks, and read that port from
the child's first line of output.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.integration.child_process import stop_child

PACKAGE = "stripe-stateful-mock"
VERSION = "0.0.16"
CACHE = Path(__file__).resolve().parents[3] / ".cache" / "npm"
INSTALL_SECONDS = 300
STARTUP_SECONDS = 20.0

# Its Express app on loopback only; the port the OS gave is the first line printed.
_LAUNCHER = """
const http = require("http");
const app = require("stripe-stateful-mock").createExpressApp();
const server = http.createServer(app);
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
"""


def installed_package() -> Path:
    return CACHE / "node_modules" / PACKAGE


def ensure_installed() -> str | None:
    """None once the package is in the cache, else why it cannot be (for a skip reason)."""
    if (installed_package() / "dist" / "index.js").is_file():
        return None
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js and npm are needed to run stripe-stateful-mock and are not on PATH"
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--no-save",
             f"{PACKAGE}@{VERSION}"],
            capture_output=True, text=True, timeout=INSTALL_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return f"npm could not install {PACKAGE}@{VERSION} within {INSTALL_SECONDS}s"
    if done.returncode != 0 or not (installed_package() / "dist" / "index.js").is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return f"npm could not install {PACKAGE}@{VERSION}: {' / '.join(tail)}"
    return None


@contextmanager
def running_stateful_mock(api_key: str) -> Iterator[str]:
    """A fresh, empty stripe-stateful-mock on 127.0.0.1; yields its base URL and stops it on exit."""
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(["node", "-e", _LAUNCHER], cwd=CACHE, stdout=subprocess.PIPE, stderr=errors,
                                   text=True)
        try:
            port = process.stdout.readline().strip()
            if not port.isdigit():
                process.wait(timeout=10)
                errors.seek(0)
                raise RuntimeError(f"{PACKAGE} did not start (exit {process.returncode}): {errors.read()[-2000:]}")
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    requests.get(f"{base}/v1/customers", auth=(api_key, ""), timeout=1).raise_for_status()
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{PACKAGE} did not answer on {base}") from None
                    time.sleep(0.05)
            yield base
        finally:
            stop_child(process)
