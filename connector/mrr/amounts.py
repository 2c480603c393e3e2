"""Amounts for people and files: minor units as exact decimals in major units (never a float)."""

from __future__ import annotations

from decimal import Decimal

from .model import currency_exponent


def major(amount_minor: int | None, currency: str) -> str | None:
    """Minor units as an exact decimal in major units (no float ever)."""
    if amount_minor is None:
        return None
    exponent = currency_exponent(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"
