"""A deterministic fake Chargebee site: customers and subscriptions in every state Chargebee has.

``build_site(seed=1, customers=48, catalog="v2")`` returns a :class:`Site`:
``objects[stream]`` lists every record of a stream in creation order (deleted
ones included, with ``deleted: true``). Customer ``i`` follows scenario
``i % len(SCENARIOS)``; each scenario is one case the mapping and the MRR rules
must get right (non-renewing, future, paused, dunning, stairstep, coupons of
each kind, tax-inclusive prices, setup fees, metered usage, refunds, ...).
Invoices, transactions, credit notes, unbilled charges and events are derived
in ``billing.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from . import products
from .billing import bill_site
from .periods import DAY, add_period
from .site_mrr import subscription_mrr

NOW = 1_735_689_600           # 2025-01-01T00:00:00Z: the site's "now"
LEGACY_CREATED = 1_420_070_400  # 2015-01-01: customers never updated since carry no updated_at

# name, item prices [(id, quantity)], status, extras
SCENARIOS: list[tuple[str, list[tuple[str, int]], str, dict[str, Any]]] = [
    ("active_coupon_forever", [("basic-USD-monthly", 1)], "active", {"coupons": ["SUMMER10"]}),
    ("active_per_unit_addon_tax_exclusive", [("pro-USD-monthly", 5), ("extra-seats-USD-monthly", 3)], "active",
     {"tax": ("exclusive", "8.25")}),
    ("in_trial", [("pro-USD-monthly", 2)], "in_trial", {}),
    ("non_renewing", [("basic-USD-yearly", 1)], "non_renewing", {}),
    ("paused", [("pro-EUR-monthly", 3)], "paused", {}),
    ("cancelled", [("basic-USD-monthly", 1)], "cancelled", {}),
    ("future", [("team-USD-monthly", 8)], "future", {}),
    ("dunning_stairstep", [("team-USD-monthly", 12)], "active", {"dunning": True}),
    ("volume_metered_setup", [("enterprise-USD-monthly", 30), ("api-calls-USD-monthly", 0)], "active",
     {"setup": "setup-USD", "unbilled": True, "big_invoice": True}),
    ("jpy_archived_price", [("basic-JPY-monthly", 1)], "active", {}),
    ("quarterly_limited_coupon", [("pro-USD-quarterly", 4)], "active", {"coupons": ["WELCOME25"]}),
    ("eur_tax_inclusive_item_coupon", [("pro-EUR-monthly", 6)], "active",
     {"tax": ("inclusive", "20"), "coupons": ["SEATS15"], "setup": "setup-EUR"}),
    ("manual_discount", [("basic-USD-monthly", 1)], "active", {"discount": 300}),
    ("cancelled_refunded", [("pro-USD-monthly", 2)], "cancelled", {"refund": True}),
    ("coupon_not_in_mrr", [("pro-USD-monthly", 3)], "active", {"coupons": ["HALF6", "FLAT5"]}),
    ("deleted_customer", [("basic-USD-monthly", 1)], "cancelled", {"deleted": True}),
]


@dataclass
class Site:
    name: str
    catalog: str                       # "v2" or "v1"
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    scenario_of: dict[str, str] = field(default_factory=dict)   # subscription id -> scenario name

    def count(self, stream: str, include_deleted: bool = True) -> int:
        return sum(1 for o in self.objects.get(stream, []) if include_deleted or not o.get("deleted"))


def _id(rng: random.Random, prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(rng.choice(alphabet) for _ in range(14))


def _customer(rng: random.Random, i: int, scenario: str, currency: str) -> dict[str, Any]:
    legacy = i < 2
    created = LEGACY_CREATED + i * DAY if legacy else NOW - (420 - i * 3) * DAY
    customer: dict[str, Any] = {
        "id": _id(rng, "cus"), "first_name": f"Customer{i:03d}", "last_name": scenario.split("_")[0].title(),
        "email": f"customer{i:03d}@example.com", "auto_collection": "on", "net_term_days": 0,
        "allow_direct_debit": False, "created_at": created, "taxability": "taxable",
        "pii_cleared": "active", "channel": "web", "card_status": "valid",
        "promotional_credits": 0, "refundable_credits": 0, "excess_payments": 0, "unbilled_charges": 0,
        "preferred_currency_code": currency, "deleted": False, "object": "customer",
    }
    if not legacy:
        customer["updated_at"] = created
        customer["resource_version"] = created * 1000
    return customer


def _trialless_start(i: int) -> int:
    return NOW - (400 - i * 5) * DAY


def _subscription(
    rng: random.Random, i: int, customer: dict[str, Any], scenario: tuple, prices: dict[str, dict]
) -> dict[str, Any]:
    name, lines, status, extras = scenario
    main = prices[lines[0][0]]
    period, unit = main["period"], main["period_unit"]
    created = max(customer["created_at"], _trialless_start(i))
    sub: dict[str, Any] = {
        "id": _id(rng, "sub"), "customer_id": customer["id"], "currency_code": main["currency_code"],
        "status": status, "billing_period": period, "billing_period_unit": unit, "created_at": created,
        "has_scheduled_changes": False, "channel": "web", "deleted": False, "object": "subscription",
        "auto_collection": "on", "due_invoices_count": 0,
    }
    items = []
    for price_id, quantity in lines:
        price = prices[price_id]
        item = {"item_price_id": price_id, "item_type": price["item_type"], "free_quantity": 0,
                "object": "subscription_item"}
        if price["pricing_model"] == "flat_fee":
            item.update(unit_price=price["price"], amount=price["price"])
        elif price["pricing_model"] == "per_unit":
            item.update(quantity=quantity, unit_price=price["price"], amount=quantity * price["price"])
        else:
            item["quantity"] = quantity
        items.append(item)
    if extras.get("setup"):
        items.append({"item_price_id": extras["setup"], "item_type": "charge", "quantity": 1,
                      "unit_price": prices[extras["setup"]]["price"], "amount": prices[extras["setup"]]["price"],
                      "charge_on_event": "subscription_creation", "charge_once": True, "object": "subscription_item"})
    sub["subscription_items"] = items

    start = created
    if status == "future":
        sub["start_date"] = NOW + 20 * DAY
        sub["next_billing_at"] = sub["start_date"]
    elif status == "in_trial":
        sub["trial_start"] = NOW - 5 * DAY
        sub["trial_end"] = NOW + 9 * DAY
        sub["created_at"] = sub["trial_start"]
        sub["started_at"] = sub["trial_start"]
        sub["current_term_start"], sub["current_term_end"] = sub["trial_start"], sub["trial_end"]
        sub["next_billing_at"] = sub["trial_end"]
    else:
        sub["started_at"] = sub["activated_at"] = start
        term_start = start
        while add_period(term_start, period, unit) <= NOW:
            term_start = add_period(term_start, period, unit)
        term_end = add_period(term_start, period, unit)
        if status == "cancelled":
            # Cancelled at the end of a term two periods back; no current term.
            cancelled_at = max(add_period(start, period, unit), add_period(term_start, -period, unit))
            sub["cancelled_at"] = cancelled_at
            sub["cancel_schedule_created_at"] = cancelled_at - 6 * DAY
            sub["cancel_reason_code"] = "Not Satisfied"
        else:
            sub["current_term_start"], sub["current_term_end"] = term_start, term_end
            sub["next_billing_at"] = term_end
        if status == "non_renewing":
            sub["cancelled_at"] = term_end                      # when the cancellation takes effect
            sub["cancel_schedule_created_at"] = NOW - 12 * DAY  # when it was asked for
            sub.pop("next_billing_at")
        if status == "paused":
            sub["pause_date"] = NOW - 10 * DAY
            sub["resume_date"] = NOW + 50 * DAY
    if extras.get("coupons"):
        sub["coupons"] = []
        for code in extras["coupons"]:
            entry: dict[str, Any] = {"coupon_id": code, "applied_count": 1, "object": "coupon"}
            months = next(c[4] for c in products.COUPONS if c[0] == code)
            if months:
                entry["apply_till"] = add_period(sub.get("started_at", created), months, "month")
            sub["coupons"].append(entry)
    if extras.get("discount"):
        sub["discounts"] = [{
            "id": f"disc_{sub['id'][3:]}", "invoice_name": "Loyalty", "type": "fixed_amount",
            "amount": extras["discount"], "currency_code": sub["currency_code"], "duration_type": "forever",
            "included_in_mrr": True, "apply_on": "invoice_amount", "created_at": created,
            "applied_count": 1, "index": 0, "object": "discount",
        }]
    return sub


def build_site(seed: int = 1, customers: int = 48, catalog: str = "v2", name: str = "acme-test") -> Site:
    """The whole site, reproducible from ``seed``; ``catalog`` "v1" builds a Product Catalog 1.0 site."""
    if catalog == "v1":
        from .legacy import build_legacy_site

        return build_legacy_site(seed=seed, customers=customers, name=name)
    rng = random.Random(seed)
    site = Site(name=name, catalog=catalog)
    prices = {p["id"]: p for p in products.item_prices()}
    site.objects.update(
        item_families=products.item_families(), items=products.items(),
        item_prices=list(prices.values()), coupons=products.coupons(),
    )
    site.objects["customers"], site.objects["subscriptions"] = [], []
    for i in range(customers):
        scenario = SCENARIOS[i % len(SCENARIOS)]
        currency = prices[scenario[1][0][0]]["currency_code"]
        customer = _customer(rng, i, scenario[0], currency)
        sub = _subscription(rng, i, customer, scenario, prices)
        sub["_extras"] = scenario[3]
        site.scenario_of[sub["id"]] = scenario[0]
        site.objects["customers"].append(customer)
        site.objects["subscriptions"].append(sub)
    bill_site(site, rng, prices, now=NOW)
    coupons = {c["id"]: c for c in site.objects["coupons"]}
    for sub in site.objects["subscriptions"]:
        tax = sub["_extras"].get("tax")
        sub["mrr"] = subscription_mrr(sub, prices, coupons, NOW, tax[1] if tax and tax[0] == "inclusive" else None)
        extras = sub.pop("_extras")
        if extras.get("deleted"):
            customer = next(c for c in site.objects["customers"] if c["id"] == sub["customer_id"])
            customer["deleted"] = True
            sub["deleted"] = True
    site.objects["customers"].sort(key=lambda c: (c["created_at"], c["id"]))
    site.objects["subscriptions"].sort(key=lambda s: (s["created_at"], s["id"]))
    return site
