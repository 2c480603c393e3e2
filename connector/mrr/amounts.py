"""Amounts for people and files: minor units as exact decimals in major units (never a float)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .model import currency_exponent


def major(amount_minor: int | None, currency: str) -> str | None:
    """Minor units as an exact decimal in major units (no float ever)."""
    if amount_minor is None:
        return None
    exponent = currency_exponent(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"


def in_major_units(rows: Sequence[dict[str, Any]], currency_key: str = "currency") -> list[dict[str, Any]]:
    out = []
    for row in rows:
        converted = {}
        for key, value in row.items():
            if key.endswith("_minor"):
                converted[key[: -len("_minor")]] = major(value, row[currency_key])
            else:
                converted[key] = value
        out.append(converted)
    return out
