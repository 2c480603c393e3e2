import io
import re

from connector.sync.progress import Progress, terminal_wants_progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_one_line_per_phase_with_the_stream_counters():
    out = _Tty()
    progress = Progress(enabled=True, stream=out, interval=0, width=80)
    progress.held = True
    progress.advance("customers", 100)
    progress.advance("invoices", 250)
    progress.close()
    with progress.phase("mapping"):
        pass
    with progress.phase("mrr"):
        pass
    progress.stop()
    lines = [line.rstrip() for line in ANSI.sub("", out.getvalue()).replace("\r", "\n").splitlines() if line.strip()]
    final = lines[-3:]
    assert "streams:" in final[0] and "customers 100 · invoices 250" in final[0] and "objects/s" in final[0]
    assert "mapping done" in final[1] and "MRR done" in final[2]
    assert all(len(line) <= 80 for line in lines)
    assert set(progress.seconds) == {"mapping", "mrr"}


def test_progress_is_silent_when_disabled_but_keeps_counts_and_timings():
    out = io.StringIO()
    progress = Progress(enabled=False, stream=out, interval=0)
    progress.advance("customers", 100)
    with progress.phase("mapping"):
        pass
    progress.close()
    assert out.getvalue() == "" and progress.counts == {"customers": 100}
    assert list(progress.seconds) == ["mapping"] and progress.seconds["mapping"] >= 0
    assert Progress.for_terminal(quiet=False).enabled is False  # pytest's stderr is not a terminal
    assert Progress.for_terminal(quiet=True).enabled is False


def test_off_for_quiet_for_a_dumb_terminal_and_for_a_pipe():
    assert terminal_wants_progress(_Tty(), quiet=False, environ={"TERM": "xterm"}) is True
    assert terminal_wants_progress(_Tty(), quiet=True, environ={"TERM": "xterm"}) is False
    assert terminal_wants_progress(_Tty(), quiet=False, environ={"TERM": "dumb"}) is False
    assert terminal_wants_progress(io.StringIO(), quiet=False, environ={"TERM": "xterm"}) is False
