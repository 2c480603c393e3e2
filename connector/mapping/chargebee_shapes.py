"""Helpers every Chargebee mapping module shares: unclassified rows, exact decimals, currencies, days, ids."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

PROVIDER = "chargebee"


def unclassified(object_type: str, object_id: str, customer_id: str, reason: str,
                 amount_minor: int | None = None, currency: str | None = None) -> dict[str, Any]:
    """A ``billing_unclassified`` row: what was not recognised, and what is at stake."""
    return {
        "provider": PROVIDER, "object_type": object_type, "id": object_id, "customer_id": customer_id,
        "reason": reason, "amount_minor": amount_minor, "currency": currency,
    }


def decimal_text(value: Any) -> str | None:
    """Exact decimal text of a JSON number or decimal string (no float rounding); None for None."""
    if value is None:
        return None
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "") else text


def currency_of(obj: Mapping[str, Any]) -> str | None:
    return (obj.get("currency_code") or "").lower() or None


def day_text(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(int(epoch), tz=timezone.utc).date().isoformat()


def item_row_id(subscription_id: str, price_id: str) -> str:
    """Chargebee subscription items have no id of their own: one per (subscription, price)."""
    return f"{subscription_id}:{price_id}"
