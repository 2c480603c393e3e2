"""Values we know for the enums the MRR rules read; a new one is kept and warned about once.

Providers add enum values over time (a new subscription status, say). The sync
stores the object exactly as sent — nothing is dropped — and says once per run
which value it has not seen before, so the MRR rules can be checked for it. The
known values are catalog data (each stream's ``known_values``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger("billing_connector.sync")


class EnumWatch:
    """Warns once per (stream, field, value) not among the stream's known values."""

    def __init__(self) -> None:
        self.unknown: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()  # pages are checked in fetcher threads

    def check(self, stream: str, known: Mapping[str, frozenset[str]], objects: Iterable[Mapping[str, Any]]) -> None:
        for field, values in known.items():
            for obj in objects:
                value = obj.get(field)
                if not isinstance(value, str) or value in values:
                    continue
                with self._lock:
                    if (stream, field, value) in self.unknown:
                        continue
                    self.unknown.add((stream, field, value))
                    log.warning(
                        "%s: unknown %s %r (e.g. %s) stored as is; check the MRR rules for it",
                        stream, field, value, obj.get("id"),
                    )
