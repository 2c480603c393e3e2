"""Exact display of money and rates: integer minor units in, text out, never a float.

A figure read from the store is an integer in the currency's minor unit
(connector.mrr.model.currency_exponent says how many decimals); rates are the
engine's fixed-places decimal strings, shown as percentages with one decimal and
ratios with two (rounded once, half to even). Money is shown to the minor unit, as stored.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from ..mrr.model import currency_exponent


def format_minor(amount_minor: int | None, currency: str, *, signed: bool = False) -> str:
    """``123456`` USD → ``"1,234.56"``; JPY has no decimals, KWD three. None → ``"–"``.

    ``signed`` puts a ``+`` before positive amounts (movements read better that way).
    """
    if amount_minor is None:
        return "–"
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("amounts are integers in minor units; never a float")
    exponent = currency_exponent(currency)
    sign = "-" if amount_minor < 0 else ("+" if signed and amount_minor > 0 else "")
    major, minor = divmod(abs(amount_minor), 10**exponent)
    text = f"{major:,}"
    if exponent:
        text += f".{minor:0{exponent}d}"
    return sign + text


def format_money(amount_minor: int | None, currency: str, *, signed: bool = False) -> str:
    """``format_minor`` followed by the upper-case currency code: ``"1,234.56 USD"``."""
    if amount_minor is None:
        return "–"
    return f"{format_minor(amount_minor, currency, signed=signed)} {currency.upper()}"


def format_percent(rate: str | None) -> str:
    """An engine rate such as ``"0.125000"`` as ``"12.5 %"``: one decimal, rounded half to even once from the
    exact stored digits (the export and ``mrr metrics`` keep all six)."""
    if rate is None:
        return "–"
    return f"{Decimal(rate).scaleb(2).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN):f} %"


def format_ratio(rate: str | None) -> str:
    """A ratio such as the quick ratio with two decimals (``"1.500000"`` → ``"1.50"``), half to even."""
    if rate is None:
        return "–"
    return f"{Decimal(rate).quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):f}"
