import io

from connector.sync.progress import Progress


def test_progress_draws_counters_per_stream_when_enabled():
    out = io.StringIO()
    progress = Progress(enabled=True, stream=out, interval=0)
    progress.advance("customers", 100)
    progress.advance("invoices", 250)
    progress.close()
    text = out.getvalue()
    assert "customers 100" in text and "invoices 250" in text and "objects/s" in text
    assert text.endswith("\r\033[K")  # the line is cleared at the end


def test_progress_is_silent_when_disabled_or_not_a_terminal():
    out = io.StringIO()
    progress = Progress(enabled=False, stream=out, interval=0)
    progress.advance("customers", 100)
    progress.close()
    assert out.getvalue() == "" and progress.counts == {"customers": 100}
    assert Progress.for_terminal(quiet=False).enabled is False  # pytest's stderr is not a terminal
    assert Progress.for_terminal(quiet=True).enabled is False
