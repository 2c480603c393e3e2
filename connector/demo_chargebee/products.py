"""The fake site's product catalog: item families, items and item prices (PC 2.0), plans and addons (PC 1.0), coupons.

Every pricing model Chargebee has (flat_fee, per_unit, tiered, volume,
stairstep), charges (setup fees), addons, three currencies (USD, EUR, JPY:
exponent 0), monthly and yearly periods, and coupons of every duration
(forever, limited_period, one_time), both ``apply_on`` values and both
``included_in_mrr`` values. Field names and enum values are Chargebee's
(held to the official SDK's models by tests/chargebee).
"""

from __future__ import annotations

from typing import Any

T0 = 1_672_531_200  # 2023-01-01T00:00:00Z: the catalog's creation

FAMILIES = [("cloud-storage", "Cloud Storage"), ("analytics", "Analytics")]

# item id, family, type, name
ITEMS = [
    ("basic", "cloud-storage", "plan", "Basic"),
    ("pro", "cloud-storage", "plan", "Pro"),
    ("team", "cloud-storage", "plan", "Team"),
    ("enterprise", "analytics", "plan", "Enterprise"),
    ("extra-seats", "cloud-storage", "addon", "Extra seats"),
    ("api-calls", "analytics", "addon", "API calls"),
    ("setup", "cloud-storage", "charge", "Setup fee"),
]

_STAIRS = [(1, 5, 2000), (6, 20, 5000), (21, None, 9000)]        # a flat price per step
_VOLUME = [(1, 10, 3000), (11, 50, 2500), (51, None, 2000)]       # every unit at its tier's price
_GRADUATED = [(1, 1000, 0), (1001, 10000, 2), (10001, None, 1)]   # each unit at its own tier's price

# item price id, item, currency, pricing model, price or tiers, period, period unit
ITEM_PRICES: list[tuple[str, str, str, str, Any, int | None, str | None]] = [
    ("basic-USD-monthly", "basic", "USD", "flat_fee", 1500, 1, "month"),
    ("basic-USD-yearly", "basic", "USD", "flat_fee", 15000, 1, "year"),
    ("basic-JPY-monthly", "basic", "JPY", "flat_fee", 1800, 1, "month"),
    ("pro-USD-monthly", "pro", "USD", "per_unit", 1200, 1, "month"),
    ("pro-EUR-monthly", "pro", "EUR", "per_unit", 1100, 1, "month"),
    ("pro-USD-quarterly", "pro", "USD", "per_unit", 3300, 3, "month"),
    ("team-USD-monthly", "team", "USD", "stairstep", _STAIRS, 1, "month"),
    ("enterprise-USD-monthly", "enterprise", "USD", "volume", _VOLUME, 1, "month"),
    ("extra-seats-USD-monthly", "extra-seats", "USD", "per_unit", 400, 1, "month"),
    ("api-calls-USD-monthly", "api-calls", "USD", "tiered", _GRADUATED, 1, "month"),
    ("setup-USD", "setup", "USD", "flat_fee", 5000, None, None),
    ("setup-EUR", "setup", "EUR", "flat_fee", 4500, None, None),
]

# coupon id, discount type, value, duration type, months (limited_period), apply_on, included_in_mrr
COUPONS = [
    ("SUMMER10", "percentage", 10, "forever", None, "invoice_amount", True),
    ("WELCOME25", "percentage", 25, "limited_period", 3, "invoice_amount", True),
    ("FLAT5", "fixed_amount", 500, "one_time", None, "invoice_amount", False),
    ("SEATS15", "percentage", 15, "forever", None, "each_specified_item", False),
    ("HALF6", "percentage", 50, "limited_period", 6, "invoice_amount", False),
]


def _tiers(tiers: list[tuple[int, int | None, int]]) -> list[dict[str, Any]]:
    out = []
    for start, end, price in tiers:
        tier: dict[str, Any] = {"starting_unit": start, "price": price, "object": "tier"}
        if end is not None:
            tier["ending_unit"] = end
        out.append(tier)
    return out


def item_families() -> list[dict[str, Any]]:
    return [
        {"id": fid, "name": name, "status": "active", "resource_version": (T0 + i) * 1000,
         "updated_at": T0 + i, "channel": "web", "object": "item_family"}
        for i, (fid, name) in enumerate(FAMILIES)
    ]


def items() -> list[dict[str, Any]]:
    out = []
    for i, (iid, family, kind, name) in enumerate(ITEMS):
        item = {
            "id": iid, "name": name, "external_name": name, "status": "active",
            "resource_version": (T0 + 10 + i) * 1000, "updated_at": T0 + 10 + i, "item_family_id": family,
            "type": kind, "is_shippable": False, "is_giftable": False, "enabled_for_checkout": True,
            "enabled_in_portal": True, "item_applicability": "all", "metered": kind == "addon" and iid == "api-calls",
            "channel": "web", "object": "item",
        }
        if kind == "charge":
            item["included_in_mrr"] = False
        if item["metered"]:
            item["usage_calculation"] = "sum_of_usages"
        out.append(item)
    return out


def item_prices() -> list[dict[str, Any]]:
    kinds = {iid: (family, kind) for iid, family, kind, _ in ITEMS}
    out = []
    for i, (pid, item, currency, model, price, period, unit) in enumerate(ITEM_PRICES):
        family, kind = kinds[item]
        created = T0 + 100 + i
        obj: dict[str, Any] = {
            "id": pid, "name": pid.replace("-", " "), "item_family_id": family, "item_id": item,
            "status": "active", "external_name": pid, "pricing_model": model, "currency_code": currency,
            "free_quantity": 0, "channel": "web", "resource_version": created * 1000, "updated_at": created,
            "created_at": created, "is_taxable": True, "item_type": kind,
            "show_description_in_invoices": False, "show_description_in_quotes": False, "object": "item_price",
        }
        if isinstance(price, list):
            obj["tiers"] = _tiers(price)
        else:
            obj["price"] = price
        if period is not None:
            obj["period"], obj["period_unit"] = period, unit
        out.append(obj)
    # An archived price: still referenced by history, no longer sold.
    out[2]["status"] = "archived"
    out[2]["archived_at"] = T0 + 400 * 86400
    out[2]["updated_at"] = out[2]["archived_at"]
    return out


def coupons() -> list[dict[str, Any]]:
    out = []
    for i, (cid, kind, value, duration, months, apply_on, in_mrr) in enumerate(COUPONS):
        created = T0 + 200 + i
        coupon: dict[str, Any] = {
            "id": cid, "name": cid.title(), "discount_type": kind, "duration_type": duration,
            "status": "active", "apply_discount_on": "not_applicable", "apply_on": apply_on,
            "created_at": created, "resource_version": created * 1000, "updated_at": created,
            "included_in_mrr": in_mrr, "redemptions": 0, "object": "coupon",
        }
        if kind == "percentage":
            coupon["discount_percentage"] = float(value)
        else:
            coupon["discount_amount"], coupon["currency_code"] = value, "USD"
        if months:
            coupon["duration_month"] = months
            coupon["period"], coupon["period_unit"] = months, "month"
        if apply_on == "each_specified_item":
            coupon["item_constraints"] = [{"item_type": "plan", "constraint": "all", "object": "item_constraint"}]
        out.append(coupon)
    return out


# ---- Product Catalog 1.0 (a site that has not migrated) -------------------------
PLANS = [
    ("starter-monthly", "flat_fee", 900, None, 1, "month", 2500),
    ("growth-monthly", "per_unit", 700, None, 1, "month", None),
    ("scale-monthly", "stairstep", None, _STAIRS, 1, "month", None),
    ("starter-yearly", "flat_fee", 9000, None, 1, "year", None),
]
ADDONS = [("priority-support", "recurring", "flat_fee", 2000, 1, "month"), ("training", "non_recurring", "flat_fee", 15000, None, None)]


def plans() -> list[dict[str, Any]]:
    out = []
    for i, (pid, model, price, tiers, period, unit, setup) in enumerate(PLANS):
        plan: dict[str, Any] = {
            "id": pid, "name": pid.replace("-", " ").title(), "period": period, "period_unit": unit,
            "pricing_model": model, "charge_model": model if model != "stairstep" else "tiered",
            "free_quantity": 0, "status": "active", "enabled_in_hosted_pages": True, "enabled_in_portal": True,
            "addon_applicability": "all", "is_shippable": False, "currency_code": "USD", "taxable": True,
            "giftable": False, "resource_version": (T0 + 300 + i) * 1000, "updated_at": T0 + 300 + i,
            "channel": "web", "show_description_in_invoices": False, "show_description_in_quotes": False,
            "object": "plan",
        }
        if tiers:
            plan["tiers"] = _tiers(tiers)
        else:
            plan["price"] = price
        if setup:
            plan["setup_cost"] = setup
        out.append(plan)
    return out


def addons() -> list[dict[str, Any]]:
    out = []
    for i, (aid, charge_type, model, price, period, unit) in enumerate(ADDONS):
        addon: dict[str, Any] = {
            "id": aid, "name": aid.replace("-", " ").title(), "pricing_model": model, "type": "on_off",
            "charge_type": charge_type, "price": price, "currency_code": "USD", "status": "active",
            "enabled_in_portal": True, "is_shippable": False, "resource_version": (T0 + 320 + i) * 1000,
            "updated_at": T0 + 320 + i, "included_in_mrr": charge_type == "recurring", "channel": "web",
            "taxable": True, "show_description_in_invoices": False, "show_description_in_quotes": False,
            "object": "addon",
        }
        if period:
            addon["period"], addon["period_unit"] = period, unit
        out.append(addon)
    return out
