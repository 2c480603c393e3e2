"""Values we know for the enums the MRR rules read; a new one is kept and warned about once.

Stripe adds enum values over time (a new subscription status, say). The sync
stores the object exactly as sent — nothing is dropped — and says once per run
which value it has not seen before, so the MRR rules can be checked for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger("billing_connector.sync")

KNOWN_VALUES: dict[tuple[str, str], frozenset[str]] = {
    ("subscriptions", "status"): frozenset(
        {"incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"}
    ),
    ("invoices", "status"): frozenset({"draft", "open", "paid", "uncollectible", "void"}),
    ("coupons", "duration"): frozenset({"forever", "once", "repeating"}),
    ("charges", "status"): frozenset({"succeeded", "pending", "failed"}),
    ("refunds", "status"): frozenset({"pending", "requires_action", "succeeded", "failed", "canceled"}),
}


class EnumWatch:
    """Warns once per (stream, field, value) not in KNOWN_VALUES."""

    def __init__(self) -> None:
        self.unknown: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()  # pages are checked in fetcher threads

    def check(self, stream: str, objects: Iterable[Mapping[str, Any]]) -> None:
        for (known_stream, field), values in KNOWN_VALUES.items():
            if known_stream != stream:
                continue
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
