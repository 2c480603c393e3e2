"""The JSON shapes of values every command shares: money and UTC times (docs/json-schema.md)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from .mrr.amounts import major


def money(amount_minor: int | None, currency: str | None) -> dict[str, Any] | None:
    """The one JSON shape of an amount (None stays None)."""
    if amount_minor is None or currency is None:
        return None
    return {"amount": major(amount_minor, currency), "amount_minor": int(amount_minor), "currency": currency.upper()}


def iso_utc(value: Any) -> str | None:
    """Epoch seconds (int or digits) or an ISO text → ``YYYY-MM-DDTHH:MM:SSZ``; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(value)))
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
