"""Progress of a long job on stderr: one line per phase (streams, mapping, MRR, export).

Drawn with ``rich`` and cut to the terminal's width, so a redraw never leaves a
wrapped line behind. Shown only when stderr is a terminal, ``TERM`` is not
``dumb`` and the command is not ``--quiet``: cron logs and pipes stay clean.
Phase timings are kept whether or not anything is drawn (the sync summary
reports them).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

# Names people read on the phase lines.
PHASE_LABELS = {"streams": "streams", "mapping": "mapping", "mrr": "MRR", "export": "export"}


def terminal_wants_progress(stream: TextIO, quiet: bool, environ=os.environ) -> bool:
    return not quiet and stream.isatty() and environ.get("TERM", "") != "dumb"


class Progress:
    """Counters per stream on the "streams" line, and one line per later phase."""

    def __init__(self, enabled: bool, stream: TextIO | None = None, interval: float = 0.25, width: int | None = None):
        self.enabled = enabled
        self.held = False  # True: close() (end of the streams) leaves the display on for later phases
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._bar = None   # a rich Progress while drawing
        self._streams_task = None
        if enabled:
            # rich is loaded only to draw: cron runs, pipes and --quiet never import it
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.table import Column

            console = Console(file=stream or sys.stderr, width=width, highlight=False)
            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
                TimeElapsedColumn(),
                console=console,
                refresh_per_second=1 / interval if interval else 10,
                transient=False,
                expand=True,
            )
            self._bar.start()

    @classmethod
    def for_terminal(cls, quiet: bool) -> Progress:
        return cls(enabled=terminal_wants_progress(sys.stderr, quiet))

    def advance(self, stream: str, n: int) -> None:
        with self._lock:
            self.counts[stream] = self.counts.get(stream, 0) + n
            if self._bar is None:
                return
            if self._streams_task is None:
                self._streams_task = self._bar.add_task("", total=None)
            self._bar.update(self._streams_task, description=self._streams_text())

    def _streams_text(self) -> str:
        total = sum(self.counts.values())
        rate = total / max(0.001, time.monotonic() - self._started)
        parts = " · ".join(f"{name} {count:,}" for name, count in self.counts.items())
        return f"streams: {rate:,.0f} objects/s · {parts}"

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """One line for the phase while it runs (then its final time); its seconds are kept."""
        task = self._bar.add_task(f"{PHASE_LABELS.get(name, name)} …", total=None) if self._bar else None
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started
            if self._bar is not None and task is not None:
                self._bar.update(task, description=f"{PHASE_LABELS.get(name, name)} done", total=1, completed=1)

    def close(self) -> None:
        """The streams phase is over: its line shows the final counts; drawing stops unless held."""
        if self._bar is not None and self._streams_task is not None:
            self._bar.update(self._streams_task, description=self._streams_text(), total=1, completed=1)
            self._streams_task = None
        if not self.held:
            self.stop()

    def stop(self) -> None:
        """Stop drawing (the finished lines stay); safe to call more than once."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@contextlib.contextmanager
def one_phase(name: str, quiet: bool = False) -> Iterator[None]:
    """A job of a single phase (backfill, rebuild, export): its line while it runs, on a terminal."""
    progress = Progress.for_terminal(quiet)
    try:
        with progress.phase(name):
            yield
    finally:
        progress.stop()
