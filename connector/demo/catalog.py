"""The demo account's catalog: products, prices (and their legacy plans), coupons,
promotion codes and tax rates, plus the arithmetic that prices a quantity.

Prices exist in USD, EUR and JPY (JPY has no decimals: 4400 means ¥4400). USD and
JPY prices are tax-exclusive, EUR prices tax-inclusive (VAT included in the price).
Quarterly prices are the monthly amount ×3 (interval month, interval_count 3);
annual prices are the monthly amount ×10. Tiered prices (one volume, one graduated)
carry their ``tiers``; the server shows them only when ``tiers`` is expanded, as Stripe does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .ids import DAY, random_id
from .shapes import DEFAULT_SHAPE, AccountShape
from .unmodelled import stripe_object

CURRENCIES = ("usd", "eur", "jpy")
TAX_BEHAVIOR = {"usd": "exclusive", "eur": "inclusive", "jpy": "exclusive"}
# basis points; USD customers in a taxed state pay 8.25 %, EUR VAT 20 %, JPY consumption tax 10 %
TAX_RATES_BPS = {"usd": 825, "eur": 2000, "jpy": 1000}

# (key, name, monthly USD minor amount or None, intervals offered)
_PLAN_PRODUCTS = [
    ("starter", "Starter", 2900, ("month", "quarter", "year")),
    ("pro", "Pro", 9900, ("month", "quarter", "year")),
    ("business", "Business", 29900, ("month", "quarter", "year")),
    ("seats", "Team Seats", 1500, ("month", "year")),
]
ADDON_COUNT = 12  # more than 10, so one subscription can carry >10 items
INTERVALS = {"month": ("month", 1, 1), "quarter": ("month", 3, 3), "year": ("year", 1, 10)}

VOLUME_TIERS = [(10, 1000, None), (50, 800, None), (None, 600, None)]
GRADUATED_TIERS = [(5, 2000, 1000), (None, 1500, None)]


def in_currency(usd_minor: int, currency: str) -> int:
    """Catalog amount in another currency: EUR same figure, JPY ≈ ×15 rounded to ¥100."""
    if currency == "jpy":
        return (usd_minor * 15 + 500) // 1000 * 100
    return usd_minor


@dataclass
class Catalog:
    products: list[dict] = field(default_factory=list)
    prices: list[dict] = field(default_factory=list)
    coupons: list[dict] = field(default_factory=list)
    promotion_codes: list[dict] = field(default_factory=list)
    tax_rates: dict[str, str] = field(default_factory=dict)       # currency -> txr id
    by_key: dict[tuple, dict] = field(default_factory=dict)       # (product, interval, currency) -> price
    coupon_by_key: dict[str, dict] = field(default_factory=dict)
    product_by_key: dict[str, dict] = field(default_factory=dict)
    price_by_id: dict[str, dict] = field(default_factory=dict)
    key_of_price: dict[str, str] = field(default_factory=dict)
    test_clock: dict = field(default_factory=dict)
    deleted_coupon_ids: set = field(default_factory=set)
    coupon_deleted_at: dict[str, int] = field(default_factory=dict)

    def price(self, key: str, interval: str, currency: str) -> dict:
        return self.by_key[(key, interval, currency)]

    def plans(self) -> list[dict]:
        return [plan_from_price(p) for p in self.prices if p["type"] == "recurring"]


def _tiers(spec) -> list[dict]:
    return [
        {
            "flat_amount": flat,
            "flat_amount_decimal": None if flat is None else str(flat),
            "unit_amount": unit,
            "unit_amount_decimal": str(unit),
            "up_to": up_to,
        }
        for up_to, unit, flat in spec
    ]


def amount_for_quantity(price: dict, quantity: int) -> int:
    """What ``quantity`` units of a licensed price cost for one period, tiers evaluated."""
    if price.get("billing_scheme") != "tiered":
        return price["unit_amount"] * quantity
    tiers = price["_tiers"]
    if price["tiers_mode"] == "volume":
        for tier in tiers:
            if tier["up_to"] is None or quantity <= tier["up_to"]:
                return tier["unit_amount"] * quantity + (tier["flat_amount"] or 0)
    total, lower = 0, 0
    for tier in tiers:  # graduated: each tier prices the units that fall in it
        upper = tier["up_to"] if tier["up_to"] is not None else quantity
        units = max(0, min(quantity, upper) - lower)
        if units:
            total += tier["unit_amount"] * units + (tier["flat_amount"] or 0)
        lower = upper
        if quantity <= upper:
            break
    return total


def plan_from_price(price: dict) -> dict:
    """The legacy plan Stripe keeps for a recurring price (same id)."""
    recurring = price["recurring"]
    plan = {
        "id": price["id"], "object": "plan", "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"], "created": price["created"],
        "currency": price["currency"], "interval": recurring["interval"],
        "interval_count": recurring["interval_count"], "livemode": False, "metadata": {},
        "meter": None, "nickname": price["nickname"], "product": price["product"],
        "tiers_mode": price["tiers_mode"], "transform_usage": None, "trial_period_days": None,
        "usage_type": recurring["usage_type"],
    }
    if "_tiers" in price:
        plan["_tiers"] = price["_tiers"]
    return plan


def build_catalog(seed: int, start: int, now: int, shape: AccountShape = DEFAULT_SHAPE) -> Catalog:
    rng = random.Random(f"catalog/{seed}")
    catalog = Catalog()
    created = start - 30 * DAY

    def product(key, name, when=created, active=True):
        obj = {
            "id": random_id("prod", rng), "object": "product", "active": active, "created": when,
            "default_price": None, "description": None, "images": [], "livemode": False,
            "marketing_features": [], "metadata": {}, "name": name, "package_dimensions": None,
            "shippable": None, "statement_descriptor": None, "tax_code": None, "type": "service",
            "unit_label": None, "updated": when, "url": None,
        }
        catalog.products.append(obj)
        catalog.product_by_key[key] = obj
        return obj

    def price(prod, key, interval, currency, amount, *, usage="licensed", tiers=None, when=None, active=True):
        when = when if when is not None else prod["created"] + len(catalog.prices)
        obj = {
            "id": random_id("price", rng, 24), "object": "price", "active": active,
            "billing_scheme": "tiered" if tiers else "per_unit", "created": when, "currency": currency,
            "custom_unit_amount": None, "livemode": False, "lookup_key": None, "metadata": {},
            "nickname": f"{prod['name']} {interval} {currency.upper()}", "product": prod["id"],
            "recurring": None, "tax_behavior": TAX_BEHAVIOR[currency],
            "tiers_mode": tiers[0] if tiers else None, "transform_quantity": None,
            "type": "one_time" if interval == "one_time" else "recurring",
            "unit_amount": None if tiers else amount,
            "unit_amount_decimal": None if tiers else str(amount),
        }
        if tiers:
            obj["_tiers"] = _tiers(tiers[1])
        if interval != "one_time":
            stripe_interval, count, _ = INTERVALS[interval]
            obj["recurring"] = {
                "interval": stripe_interval, "interval_count": count, "meter": None,
                "trial_period_days": None, "usage_type": usage,
            }
        catalog.prices.append(obj)
        catalog.by_key[(key, interval, currency)] = obj
        catalog.price_by_id[obj["id"]] = obj
        catalog.key_of_price[obj["id"]] = key
        if prod["default_price"] is None:
            prod["default_price"] = obj["id"]
        return obj

    for key, name, monthly, intervals in _PLAN_PRODUCTS:
        prod = product(key, name)
        for currency in CURRENCIES:
            for interval in intervals:
                price(prod, key, interval, currency, in_currency(monthly, currency) * INTERVALS[interval][2])
    volume = product("volume", "Volume API Calls")
    graduated = product("graduated", "Graduated Storage")
    for currency in CURRENCIES:
        scale = 15 if currency == "jpy" else 1
        price(volume, "volume", "month", currency, 0,
              tiers=("volume", [(u, a * scale, f) for u, a, f in VOLUME_TIERS]))
        price(graduated, "graduated", "month", currency, 0,
              tiers=("graduated", [(u, a * scale, f and f * scale) for u, a, f in GRADUATED_TIERS]))
    usage = product("usage", "Metered API Usage")
    setup = product("setup", "Onboarding and Setup Fee")
    for currency in CURRENCIES:
        price(usage, "usage", "month", currency, 3 if currency == "jpy" else 2, usage="metered")
        price(setup, "setup", "one_time", currency, in_currency(9900, currency))
    for number in range(1, ADDON_COUNT + 1):
        addon = product(f"addon{number}", f"Add-on {number}")
        for currency in CURRENCIES:
            price(addon, f"addon{number}", "month", currency, in_currency(500 + 100 * number, currency))
    legacy = product("legacy", "Legacy Basic", active=False)
    price(legacy, "legacy", "month", "usd", 1900, active=False)
    launch = product("launch", "AI Assistant", when=now - 10 * DAY)
    for currency in CURRENCIES:
        price(launch, "launch", "month", currency, in_currency(4900, currency), when=now - 10 * DAY)

    catalog.tax_rates = {c: random_id("txr", rng, 24) for c in CURRENCIES}
    _add_coupons(catalog, rng, created, now)
    # Drawn last so that every other id stays as it was before test clocks existed.
    catalog.test_clock = {
        "id": random_id("clock", rng, 24), "object": "test_helpers.test_clock", "created": created,
        "deletes_after": now + 30 * DAY, "frozen_time": now, "livemode": False, "name": "Renewal rehearsal",
        "status": "ready", "status_details": {},
    }
    # A shape's additions come after, from a generator of their own: the default catalog is unchanged.
    rng = random.Random(f"catalog/{seed}/{shape.name}")
    for number in range(ADDON_COUNT + 1, ADDON_COUNT + shape.extra_addons + 1):
        addon = product(f"addon{number}", f"Add-on {number}")
        for currency in CURRENCIES:
            price(addon, f"addon{number}", "month", currency, in_currency(500 + 100 * number, currency))
    if shape.one_off_lines[1]:
        one_off = product("one_off", shape.one_off_label)
        for currency in CURRENCIES:
            price(one_off, "one_off", "one_time", currency, in_currency(100, currency))
    for number in range(1, shape.extra_products + 1):
        extra = product(f"extra{number}", f"Catalog item {number}", when=start + number * 3600)
        for currency in CURRENCIES:
            for interval in ("month", "year"):
                price(extra, f"extra{number}", interval, currency,
                      in_currency(1000 + 100 * (number % 50), currency) * INTERVALS[interval][2])
    _add_extra_coupons(catalog, rng, shape.extra_coupons, start)
    return catalog


def _add_extra_coupons(catalog: Catalog, rng: random.Random, count: int, start: int) -> None:
    """``count`` more percent-off coupons (a shape's campaigns), none used by the simulated customers."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for number in range(1, count + 1):
        duration = ("once", "repeating", "forever")[number % 3]
        coupon = {
            "id": "".join(rng.choice(alphabet) for _ in range(8)), "object": "coupon",
            "amount_off": None, "created": start + number * 1800, "currency": None, "duration": duration,
            "duration_in_months": 3 if duration == "repeating" else None, "livemode": False,
            "max_redemptions": None, "metadata": {}, "name": f"Campaign {number}",
            "percent_off": float(5 + number % 40), "redeem_by": None, "times_redeemed": 0, "valid": True,
        }
        catalog.coupons.append(coupon)
        catalog.coupon_by_key[f"campaign{number}"] = coupon


# (key, name, duration, duration_in_months, percent_off, amount_off, currency, created offset from now or None)
_COUPONS = [
    ("forever20", "20% off forever", "forever", None, 20.0, None, None, None),
    ("forever10usd", "$10 off forever", "forever", None, None, 1000, "usd", None),
    ("repeat3x25", "25% off for 3 months", "repeating", 3, 25.0, None, None, None),
    ("repeat6usd", "$5 off for 6 months", "repeating", 6, None, 500, "usd", None),
    ("once50", "50% off the first invoice", "once", None, 50.0, None, None, None),
    ("once15eur", "€15 off once", "once", None, None, 1500, "eur", None),
    ("retired15", "15% off once (retired)", "once", None, 15.0, None, None, None),
    ("launch30", "30% off the AI Assistant launch", "forever", None, 30.0, None, None, 5 * DAY),
    ("legacy20", "20% off forever (legacy, deleted)", "forever", None, 20.0, None, None, None),
    ("addon50", "50% off an add-on", "forever", None, 50.0, None, None, None),
]
# Deleted upstream (no longer listed; their discounts live on), days before now.
_DELETED_COUPONS = {"retired15": 12, "legacy20": 20}
_PROMOTION_CODES = [("SAVE20", "forever20", None), ("SPRING25", "repeat3x25", None),
                    ("WELCOME", "once50", None), ("LAUNCH", "launch30", 4 * DAY)]


def _add_coupons(catalog: Catalog, rng: random.Random, created: int, now: int) -> None:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for key, name, duration, months, percent, amount, currency, age in _COUPONS:
        when = now - age if age else created
        coupon = {
            "id": "".join(rng.choice(alphabet) for _ in range(8)), "object": "coupon",
            "amount_off": amount, "created": when, "currency": currency, "duration": duration,
            "duration_in_months": months, "livemode": False, "max_redemptions": None,
            "metadata": {}, "name": name, "percent_off": percent, "redeem_by": None,
            "times_redeemed": 0, "valid": True,
        }
        catalog.coupons.append(coupon)
        catalog.coupon_by_key[key] = coupon
    for key, days in _DELETED_COUPONS.items():
        deleted = catalog.coupon_by_key[key]
        catalog.deleted_coupon_ids.add(deleted["id"])
        catalog.coupon_deleted_at[deleted["id"]] = now - days * DAY
    for code, coupon_key, age in _PROMOTION_CODES:
        when = now - age if age else created + 3600
        catalog.promotion_codes.append(stripe_object("promotion_code", {
            "id": random_id("promo", rng, 24), "object": "promotion_code", "active": True,
            "code": code, "created": when, "customer": None, "expires_at": None, "livemode": False,
            "max_redemptions": None, "metadata": {},
            "promotion": {"coupon": catalog.coupon_by_key[coupon_key]["id"], "type": "coupon"},
            "restrictions": {"first_time_transaction": False, "minimum_amount": None,
                             "minimum_amount_currency": None},
            "times_redeemed": 0,
        }))
