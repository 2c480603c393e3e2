"""Reading Stripe objects whatever their API version (one place for the shape differences).

The pinned version (2026-10-28.endive) nests line-item origins under ``parent``
and prices under ``pricing.price_details``; older versions (localstripe, old
exports) put ``type``/``price``/``plan``/``proration``/``subscription_item`` on
the line, ``current_period_*`` and a singular ``discount`` on the subscription,
``subscription`` and ``charge`` on the invoice. Every function here accepts both.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple


# Types a JSON value has that are not mappings: the ABC check ``isinstance(x, Mapping)`` is slow,
# and the mapping asks it of every field it reads (a dict, an id or None nearly always).
_SCALARS = frozenset({str, int, float, bool, type(None), list})


def is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, quickly for the values JSON gives."""
    kind = type(value)
    return kind is dict or (kind not in _SCALARS and isinstance(value, Mapping))


def ref(value: Any) -> Any:
    """An id whether the field came expanded (a dict) or as a plain id."""
    kind = type(value)
    if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):
        return value.get("id")
    return value


def dig(obj: Any, *path: str) -> Any:
    for part in path:
        kind = type(obj)
        if kind is not dict and (kind in _SCALARS or not isinstance(obj, Mapping)):
            return None
        obj = obj.get(part)
    return obj


def list_data(value: Any) -> list[Any]:
    """The elements of a Stripe list object, or of a plain list."""
    kind = type(value)
    if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):
        value = value.get("data")
    return list(value) if isinstance(value, list) else []


def decimal_text(value: Any) -> str | None:
    """A JSON number as exact decimal text (25.5 -> "25.5", 20.0 -> "20")."""
    if value is None or isinstance(value, bool):
        return None
    text = format(Decimal(str(value)).normalize(), "f")
    return text


class LineOrigin(NamedTuple):
    """Where a line comes from (a named tuple: one per line, and a frozen dataclass is slow to make)."""

    from_subscription: bool | None   # None: an origin this mapping does not know
    subscription_id: str | None
    subscription_item_id: str | None
    proration: bool


def line_origin(line: Mapping[str, Any]) -> LineOrigin:
    parent = line.get("parent")
    if is_mapping(parent) and parent.get("type"):
        kind = parent["type"]
        details = parent.get(kind) or {}
        known = {"subscription_item_details": True, "invoice_item_details": False}
        return LineOrigin(
            from_subscription=known.get(kind),
            subscription_id=ref(details.get("subscription")) or ref(dig(line, "subscription")),
            subscription_item_id=ref(details.get("subscription_item")),
            proration=bool(details.get("proration")),
        )
    legacy_type = line.get("type")
    known_legacy = {"subscription": True, "invoiceitem": False}
    return LineOrigin(
        from_subscription=known_legacy.get(legacy_type) if legacy_type else None,
        subscription_id=ref(line.get("subscription")),
        subscription_item_id=ref(line.get("subscription_item")),
        proration=bool(line.get("proration")),
    )


def line_price(line: Mapping[str, Any]) -> Any:
    """The price of a line: an id or an expanded object (old shapes: ``price`` or ``plan``)."""
    return dig(line, "pricing", "price_details", "price") or line.get("price") or line.get("plan")


def line_taxes(line: Mapping[str, Any]) -> tuple[int, int]:
    """(all taxes, the part included in the line amount) in minor units.

    ``taxes`` (2025 on) and ``tax_amounts`` (before) are two shapes of the same
    taxes: a line carrying both (an export mixing versions) counts them once,
    from ``taxes``.
    """
    total = inclusive = 0
    taxes = list_data(line.get("taxes"))
    if taxes:
        for tax in taxes:
            amount = int(tax.get("amount") or 0)
            total += amount
            if tax.get("tax_behavior") == "inclusive":
                inclusive += amount
        return total, inclusive
    for tax in list_data(line.get("tax_amounts")):      # versions before 2025
        amount = int(tax.get("amount") or 0)
        total += amount
        if tax.get("inclusive"):
            inclusive += amount
    return total, inclusive


def line_discount_amounts(line: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{discount, amount}] in the order Stripe applied them."""
    entries = list_data(line.get("discount_amounts"))
    if not entries:
        entries = [
            credit for credit in list_data(line.get("pretax_credit_amounts"))
            if credit.get("type") == "discount"
        ]
    return [{"discount": ref(e.get("discount")), "amount": int(e.get("amount") or 0)} for e in entries]


def invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    return ref(dig(invoice, "parent", "subscription_details", "subscription")) or ref(invoice.get("subscription"))


def invoice_tax(invoice: Mapping[str, Any]) -> int:
    taxes = list_data(invoice.get("total_taxes")) or list_data(invoice.get("total_tax_amounts"))
    if taxes:
        return sum(int(t.get("amount") or 0) for t in taxes)
    return int(invoice.get("tax") or 0)


def invoice_payment_refs(invoice: Mapping[str, Any], payments: list[Mapping[str, Any]] = ()) -> tuple[set[str], set[str]]:
    """(charge ids, payment intent ids) that paid the invoice, across versions.

    Since 2025-03-31.basil the link is the invoice's ``invoice_payment`` objects
    (``payments``, included when expanded, and the ``invoice_payments`` table);
    before it, ``invoice.charge`` and ``invoice.payment_intent``. A canceled
    invoice payment paid nothing and links nothing.
    """
    charges: set[str] = set()
    intents: set[str] = set()
    for payment in [*list_data(invoice.get("payments")), *payments]:
        if not is_mapping(payment) or payment.get("status") == "canceled":
            continue
        inner = payment.get("payment") or {}
        if ref(inner.get("charge")):
            charges.add(ref(inner.get("charge")))
        if ref(inner.get("payment_intent")):
            intents.add(ref(inner.get("payment_intent")))
    if ref(invoice.get("charge")):
        charges.add(ref(invoice.get("charge")))
    if ref(invoice.get("payment_intent")):
        intents.add(ref(invoice.get("payment_intent")))
    return charges, intents


def credit_note_refunds(note: Mapping[str, Any]) -> list[str]:
    """Ids of the refunds a credit note carries (``refunds[].refund``; a plain id in old versions)."""
    found = []
    for entry in note.get("refunds") or []:
        refund = entry.get("refund") if is_mapping(entry) and "refund" in entry else entry
        if ref(refund):
            found.append(ref(refund))
    return found


def discounts_on(obj: Mapping[str, Any]) -> list[Any]:
    """Discounts (ids or objects) on a subscription, item, invoice or line, in order."""
    found = [d for d in list_data(obj.get("discounts")) if d]
    single = obj.get("discount")
    if single and not any(ref(single) == ref(d) and ref(d) is not None for d in found):
        found.append(single)
    return found


def discount_coupon(discount: Mapping[str, Any]) -> Any:
    """A discount's coupon: an id or an object (``source.coupon`` now, ``coupon`` before)."""
    return dig(discount, "source", "coupon") or discount.get("coupon")


def tax_rates(obj: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    rates = []
    for rate in list_data(obj.get(key)):
        if is_mapping(rate) and rate.get("percentage") is not None:
            rates.append({"percentage": decimal_text(rate["percentage"]), "inclusive": bool(rate.get("inclusive"))})
    return rates
