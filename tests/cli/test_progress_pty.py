"""Progress in a real pseudo-terminal of 80 columns: every drawn line fits, one line per phase."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _run_in_pty(args, cwd, columns=80, term="xterm"):
    """Run with stdin and stderr on a pty of ``columns`` (stdout a pipe); return (code, stdout, terminal text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = term
    process = subprocess.Popen(args, cwd=cwd, stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:   # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    stdout = process.stdout.read().decode()
    code = process.wait()
    os.close(master)
    return code, stdout, b"".join(chunks).decode("utf-8", "replace")


DEMO = [sys.executable, "-m", "connector", "demo", "--customers", "20", "--db", "demo.db", "--report", "r.html"]


def test_progress_lines_fit_80_columns_and_show_each_phase(tmp_path):
    code, stdout, terminal = _run_in_pty(DEMO, tmp_path)
    assert code == 0, terminal
    lines = [line for line in ANSI.sub("", terminal).replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
    assert lines, terminal
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, too_wide
    assert any("streams:" in line and "objects/s" in line for line in lines)
    assert any("mapping done" in line for line in lines) and any("MRR done" in line for line in lines)
    assert stdout.startswith("Synced the demo account into demo.db")   # the data itself is untouched


def test_no_progress_with_a_dumb_terminal(tmp_path):
    code, _, terminal = _run_in_pty(DEMO, tmp_path, term="dumb")
    assert code == 0 and ANSI.sub("", terminal).strip() == ""
