"""Stripe's ``expand[]`` semantics for the demo server, for any field it can expand.

A reference to another object is sent as its id unless the request expands it;
then the whole object takes its place, and a longer path expands inside it
(``discounts.source.coupon``: the discount, then its coupon). Paths go through
nested objects (``source``), arrays (each element) and embedded lists
(``items.data.price``). On a list endpoint every path starts with ``data.``.
Includable fields (``tiers`` of a price) are absent unless expanded; a charge's
``refunds`` is null unless expanded.

Refused as Stripe refuses them, with a 400: a path more than four properties
deep ("You cannot expand more than 4 levels of a property."), and a property
that does not exist or is not expandable ("This property cannot be expanded (x).").

``EXPANDABLE`` says which references the demo can expand and where their objects
live; a field is named by the ``object`` type that holds it, or, inside a nested
object without an ``object`` of its own, by that type's path (``discount.source``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from .mutations import DemoRequestError

MAX_DEPTH = 4

# (holder, field) -> the collection the referenced object is loaded from
EXPANDABLE: dict[tuple[str, str], str] = {
    ("charge", "customer"): "customers",
    ("credit_note", "customer"): "customers",
    ("credit_note", "invoice"): "invoices",
    ("credit_note.refunds", "refund"): "refunds",
    ("discount", "customer"): "customers",
    ("discount", "promotion_code"): "promotion_codes",
    ("discount.source", "coupon"): "coupons",
    ("invoice", "customer"): "customers",
    ("invoice", "discounts"): "discounts",
    ("invoiceitem", "customer"): "customers",
    ("invoiceitem", "discounts"): "discounts",
    ("invoiceitem", "invoice"): "invoices",
    ("invoice_payment", "invoice"): "invoices",
    ("invoice_payment.payment", "charge"): "charges",
    ("line_item", "discounts"): "discounts",
    ("line_item", "subscription"): "subscriptions",
    ("plan", "product"): "products",
    ("price", "product"): "products",
    ("product", "default_price"): "prices",
    ("promotion_code", "customer"): "customers",
    ("promotion_code.promotion", "coupon"): "coupons",
    ("refund", "charge"): "charges",
    ("subscription", "customer"): "customers",
    ("subscription", "discounts"): "discounts",
    ("subscription", "latest_invoice"): "invoices",
    ("subscription", "schedule"): "subscription_schedules",
    ("subscription_item", "discounts"): "discounts",
}
# (holder, field) -> the includable field's value for the holder (absent unless expanded). A charge's
# ``refunds`` is null unless expanded since API 2022-11-15 (Stripe's changelog: "The Charges object no
# longer auto-expands refunds by default"; the SDK declares it nullable): expanding fills it.
INCLUDABLE_FIELDS = {("price", "tiers"): "tiers", ("plan", "tiers"): "tiers", ("invoice", "payments"): "payments",
                     ("charge", "refunds"): "refunds", ("customer", "sources"): "sources",
                     ("customer", "subscriptions"): "subscriptions", ("customer", "tax_ids"): "tax_ids"}


def cannot_expand(name: str) -> DemoRequestError:
    return DemoRequestError(400, f"This property cannot be expanded ({name}).")


class Expander:
    """Applies expansion paths to plain objects.

    ``load(collection, id)`` returns the object an id names (a copy the expander may
    change), a deleted object's ``{"id", "object", "deleted"}``, or None when unknown;
    ``include(kind, holder)`` returns an includable field's value for its holder.
    """

    def __init__(self, load: Callable[[str, str], dict | None], include: Callable[[str, dict], object]):
        self.load = load
        self.include = include

    def expand(self, objects: list[dict], paths: list[str], *, is_list: bool) -> list[dict]:
        """The objects with every path expanded; raises ``DemoRequestError`` for a path Stripe refuses."""
        for path in paths:
            segments = path.split(".")
            if len(segments) > MAX_DEPTH:
                raise DemoRequestError(400, "You cannot expand more than 4 levels of a property.")
            if is_list:
                if segments[0] != "data" or len(segments) == 1:
                    raise cannot_expand(segments[0])
                segments = segments[1:]
            for obj in objects:
                self._apply(obj, obj.get("object"), segments)
        return objects

    def _apply(self, holder: dict, holder_type: str | None, segments: list[str]) -> None:
        name, rest = segments[0], segments[1:]
        include = INCLUDABLE_FIELDS.get((holder_type, name))
        if include is not None:
            if rest:
                raise cannot_expand(rest[0])
            value = self.include(include, holder)
            if value is not None:
                holder[name] = value
            return
        if name not in holder:
            raise cannot_expand(name)
        value = holder[name]
        collection = EXPANDABLE.get((holder_type, name))
        if collection is not None:
            holder[name] = value = self._load_each(collection, value)
            for child in value if isinstance(value, list) else [value]:
                if rest and isinstance(child, dict) and not child.get("deleted"):
                    self._apply(child, child.get("object"), rest)
            return
        if not rest:
            raise cannot_expand(name)
        if isinstance(value, dict) and value.get("object") == "list":
            if rest[0] != "data" or len(rest) == 1:
                raise cannot_expand(rest[0])
            for item in value["data"]:
                self._apply(item, item.get("object"), rest[1:])
        elif isinstance(value, dict):
            self._apply(value, value.get("object") or f"{holder_type}.{name}", rest)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    self._apply(item, item.get("object") or f"{holder_type}.{name}", rest)
        elif value is not None:
            raise cannot_expand(name)

    def _load_each(self, collection: str, value):
        if isinstance(value, list):
            return [self._load_one(collection, v) for v in value]
        return self._load_one(collection, value)

    def _load_one(self, collection: str, value):
        if not isinstance(value, str):
            return value  # null, or already expanded by an earlier path
        loaded = self.load(collection, value)
        return loaded if loaded is not None else value


def collapse_references(obj: dict) -> dict:
    """A stored discount as Stripe sends it: its coupon as an id (expanded only on request)."""
    source = obj.get("source")
    if isinstance(source, dict) and isinstance(source.get("coupon"), dict):
        obj = copy.deepcopy(obj)
        obj["source"]["coupon"] = obj["source"]["coupon"]["id"]
    return obj
