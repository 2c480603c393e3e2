"""Stopping a fake server run as a child process, the same way for every such server."""

from __future__ import annotations

import subprocess


def stop_child(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 10 s; always reaped."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
