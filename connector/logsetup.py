"""Logging for people and for log shippers: one handler on stderr, set once per command.

Levels: warnings by default, ``-v`` info, ``-vv`` debug, ``--quiet`` errors
only, ``--log-level NAME`` exactly that. ``--log-format json`` writes one JSON
object per line — ``timestamp`` (ISO-8601 UTC, milliseconds), ``level``,
``logger``, ``message`` — for Loki, Fluent Bit, CloudWatch and the like. The
API key is never a log argument; every record passes ``redact.RedactingFilter``
(the one redaction step every message takes) on the handler installed here.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from .redact import RedactingFilter

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        entry = {
            "timestamp": stamp,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # already rendered (and redacted) by RedactingFilter
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``warning: message`` (the way every other message of the tool reads); debug names its logger."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = record.levelname.lower()
        if record.levelno <= logging.DEBUG:
            prefix += f" [{record.name}]"
        text = f"{prefix}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:  # already rendered (and redacted) by RedactingFilter
            text += "\n" + record.exc_text
        return text


def level_for(verbose: int = 0, log_level: str | None = None, quiet: bool = False) -> int:
    if log_level:
        return getattr(logging, log_level.upper())
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (not the one at setup)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; the property wins
        pass


# One handler for the whole process: later calls change its format and the level, so filters
# put on it once (the redaction of secrets) stay on whatever the options say afterwards.
_handler = _StderrHandler()
_handler.addFilter(RedactingFilter())  # records may quote server text: the one redaction step


def configure(verbose: int = 0, log_level: str | None = None, log_format: str = "text", quiet: bool = False) -> None:
    """The root logger writes through the one stderr handler, at the chosen level and format."""
    _handler.setFormatter(JsonLineFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for other in list(root.handlers):
        # the handler a bare logging.basicConfig() left (not a test harness's capture handler)
        if type(other) is logging.StreamHandler:
            root.removeHandler(other)
    if _handler not in root.handlers:
        root.addHandler(_handler)
    root.setLevel(level_for(verbose, log_level, quiet))
