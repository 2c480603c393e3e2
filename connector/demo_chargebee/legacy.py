"""A fake site still on Product Catalog 1.0: plans and addons, subscriptions with ``plan_id`` and ``addons``.

Built by pricing PC 1.0 plans through the same billing code as PC 2.0 (a plan
is billed like a plan item price), then rewriting the subscriptions and
invoice lines into the 1.0 shapes: ``plan_id``/``plan_quantity``/``addons`` on
subscriptions, ``plan``/``addon``/``plan_setup`` line entity types.
"""

from __future__ import annotations

import random
from typing import Any

from . import products
from .billing import bill_site

LEGACY_SCENARIOS = [
    ("starter-monthly", 1, "active", [("priority-support", 1)]),
    ("growth-monthly", 7, "active", []),
    ("scale-monthly", 9, "non_renewing", []),
    ("starter-yearly", 1, "in_trial", []),
    ("growth-monthly", 2, "cancelled", []),
]
_ENTITY = {"plan_item_price": "plan", "addon_item_price": "addon", "charge_item_price": "plan_setup"}


def _as_price(obj: dict[str, Any], item_type: str) -> dict[str, Any]:
    return {**obj, "item_type": item_type}


def build_legacy_site(seed: int, customers: int, name: str):
    from .account import Site, _customer, _subscription

    rng = random.Random(seed)
    site = Site(name=name, catalog="v1")
    plans, addons = products.plans(), products.addons()
    prices = {p["id"]: _as_price(p, "plan") for p in plans}
    prices.update({a["id"]: _as_price(a, "addon") for a in addons})
    for plan in plans:
        if plan.get("setup_cost"):
            prices[f"{plan['id']}-setup"] = {"id": f"{plan['id']}-setup", "name": "Setup", "item_type": "charge",
                                             "pricing_model": "flat_fee", "price": plan["setup_cost"],
                                             "currency_code": "USD"}
    site.objects.update(plans=plans, addons=addons, coupons=products.coupons())
    site.objects["customers"], site.objects["subscriptions"] = [], []
    for i in range(customers):
        plan_id, quantity, status, addon_lines = LEGACY_SCENARIOS[i % len(LEGACY_SCENARIOS)]
        extras = {"setup": f"{plan_id}-setup"} if f"{plan_id}-setup" in prices else {}
        scenario = (f"pc1_{status}", [(plan_id, quantity), *addon_lines], status, extras)
        customer = _customer(rng, i + 2, scenario[0], "USD")
        sub = _subscription(rng, i + 2, customer, scenario, prices)
        sub["_extras"] = extras
        site.scenario_of[sub["id"]] = scenario[0]
        site.objects["customers"].append(customer)
        site.objects["subscriptions"].append(sub)
    bill_site(site, rng, prices, now=1_735_689_600)
    for sub in site.objects["subscriptions"]:
        sub.pop("_extras")
        items = sub.pop("subscription_items")
        plan_item, addon_items = items[0], [i for i in items if i["item_type"] == "addon"]
        sub["plan_id"] = plan_item["item_price_id"]
        sub["plan_quantity"] = plan_item.get("quantity", 1)
        if "unit_price" in plan_item:
            sub["plan_unit_price"] = plan_item["unit_price"]
            sub["plan_amount"] = plan_item["amount"]
        if addon_items:
            sub["addons"] = [{"id": a["item_price_id"], "quantity": a.get("quantity", 1),
                              "unit_price": a["unit_price"], "amount": a["amount"], "object": "addon"}
                             for a in addon_items]
    for doc in site.objects["invoices"] + site.objects["credit_notes"]:
        for line in doc["line_items"]:
            line["entity_type"] = _ENTITY[line["entity_type"]]
            if line["entity_type"] == "plan_setup":
                line["entity_id"] = line["entity_id"].removesuffix("-setup")
    for charge in site.objects["unbilled_charges"]:
        charge["entity_type"] = _ENTITY[charge["entity_type"]]
    site.objects["customers"].sort(key=lambda c: (c["created_at"], c["id"]))
    site.objects["subscriptions"].sort(key=lambda s: (s["created_at"], s["id"]))
    return site
