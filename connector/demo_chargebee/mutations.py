"""Changes to the fake site, as Chargebee records them: the object's ``updated_at`` and
``resource_version`` move, and an event carries the object.

Apply them through ``FakeChargebee.mutate`` (under the server's lock, indexes
rebuilt), so that reads in flight never see half a change.
"""

from __future__ import annotations

import copy
from typing import Any

from .account import Site


def _stamp(obj: dict[str, Any], at: int) -> None:
    obj["updated_at"] = at
    obj["resource_version"] = at * 1000


def _event(site: Site, event_type: str, at: int, content: dict[str, Any]) -> None:
    events = site.objects["events"]
    number = int(events[-1]["id"].removeprefix("ev_")) + 1 if events else 1
    events.append({"id": f"ev_{number:06d}", "occurred_at": at, "source": "api", "object": "event",
                   "api_version": "v2", "event_type": event_type, "webhook_status": "not_configured",
                   "content": copy.deepcopy(content)})


def _find(site: Site, stream: str, object_id: str) -> dict[str, Any]:
    return next(o for o in site.objects[stream] if o["id"] == object_id)


def cancel_subscription(site: Site, subscription_id: str, at: int) -> None:
    """Cancel now: ``cancelled_at`` (effective) and ``cancel_schedule_created_at`` (asked) are both ``at``."""
    sub = _find(site, "subscriptions", subscription_id)
    sub.update(status="cancelled", cancelled_at=at, cancel_schedule_created_at=at)
    for key in ("current_term_start", "current_term_end", "next_billing_at"):
        sub.pop(key, None)
    _stamp(sub, at)
    _event(site, "subscription_cancelled", at, {"subscription": sub})


def change_quantity(site: Site, subscription_id: str, item_price_id: str, quantity: int, at: int) -> None:
    sub = _find(site, "subscriptions", subscription_id)
    item = next(i for i in sub["subscription_items"] if i["item_price_id"] == item_price_id)
    item["quantity"] = quantity
    if "unit_price" in item and item.get("amount") != item["unit_price"]:
        item["amount"] = item["unit_price"] * quantity
    _stamp(sub, at)
    _event(site, "subscription_changed", at, {"subscription": sub})


def add_customer(site: Site, customer_id: str, email: str, at: int) -> None:
    customer = {"id": customer_id, "first_name": "New", "last_name": "Customer", "email": email,
                "auto_collection": "on", "net_term_days": 0, "allow_direct_debit": False, "created_at": at,
                "taxability": "taxable", "pii_cleared": "active", "channel": "web", "card_status": "no_card",
                "promotional_credits": 0, "refundable_credits": 0, "excess_payments": 0, "unbilled_charges": 0,
                "deleted": False, "object": "customer"}
    _stamp(customer, at)
    site.objects["customers"].append(customer)
    _event(site, "customer_created", at, {"customer": customer})


def delete_customer(site: Site, customer_id: str, at: int) -> None:
    customer = _find(site, "customers", customer_id)
    customer["deleted"] = True
    _stamp(customer, at)
    _event(site, "customer_deleted", at, {"customer": customer})


def change_coupon(site: Site, coupon_id: str, at: int, fields: dict[str, Any]) -> None:
    """Change a coupon's terms (say ``discount_percentage``): every subscription using it is affected."""
    coupon = _find(site, "coupons", coupon_id)
    coupon.update(fields)
    _stamp(coupon, at)
    _event(site, "coupon_updated", at, {"coupon": coupon})


def change_item_price(site: Site, item_price_id: str, price: int, at: int) -> None:
    """A new price on an item price (existing subscription items keep their own ``unit_price``)."""
    item_price = _find(site, "item_prices", item_price_id)
    item_price["price"] = price
    _stamp(item_price, at)
    _event(site, "item_price_updated", at, {"item_price": item_price})
