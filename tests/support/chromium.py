"""Headless Chromium, run once per question: the rendered DOM, or a screenshot.

Every run gets its own throw-away profile, no network service that could
phone home, and its own process group, which is stopped if it outlives the
guard below (a hung browser must not hang the suite; this is not a speed test).
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
GUARD_SECONDS = 120
WINDOW = "1280,2000"

BASE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
)


@dataclass(frozen=True)
class Run:
    stdout: str
    stderr: str


def run_chromium(page: Path, profile: Path, *extra: str) -> Run:
    command = [str(CHROMIUM), *BASE_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"chromium did not finish rendering {page} within {GUARD_SECONDS} s") from None
    finally:
        # The browser leaves helper processes in its group now and then; they are ours to stop.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert process.returncode == 0, f"chromium exited {process.returncode}: {stderr[-2000:]}"
    return Run(stdout, stderr)


def dump_dom(page: Path, profile: Path) -> Run:
    return run_chromium(page, profile, "--dump-dom")


def screenshot(page: Path, profile: Path, output: Path) -> Run:
    return run_chromium(page, profile, f"--screenshot={output}", f"--window-size={WINDOW}")


def page_console_errors(stderr: str) -> list[str]:
    """Lines where Chromium logged a message from the page's console or an uncaught error."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
