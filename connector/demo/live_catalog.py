"""The catalog made through the demo's API: ``POST /v1/prices``, ``/v1/coupons`` and ``/v1/tax_rates``.

Part of the live billing (live.py): objects shaped as Stripe's pinned API version shows them, each
stored and announced with the event Stripe emits.
"""

from __future__ import annotations

from .catalog import plan_from_price
from .ids import random_id
from .mutations import missing


def as_bool(value) -> bool:
    """A form-encoded boolean, as the SDK sends it ("true" / "false")."""
    return str(value).lower() == "true"


class LiveCatalog:
    """Mixed into DemoAccount through LiveBilling: prices, coupons and tax rates made to order."""

    # -- catalog ---------------------------------------------------------------------------
    def create_price(self, params: dict) -> dict:
        with self.lock:
            product_id = params.get("product")
            if not product_id:
                name = (params.get("product_data") or {}).get("name") or "Product"
                product = dict({
                    "id": random_id("prod", self._mutation_rng), "object": "product", "active": True,
                    "created": self.clock, "default_price": None, "description": None, "images": [],
                    "livemode": False, "marketing_features": [], "metadata": {}, "name": name,
                    "package_dimensions": None, "shippable": None, "statement_descriptor": None, "tax_code": None,
                    "type": "service", "unit_label": None, "updated": self.clock, "url": None})
                self._store("products", product)
                self._emit("product.created", product)
                product_id = product["id"]
            elif self.indexes["products"].payload.get(product_id) is None:
                raise missing("product", product_id, "product")
            recurring = params.get("recurring")
            amount = int(params.get("unit_amount", 0))
            price = {
                "id": random_id("price", self._mutation_rng, 24), "object": "price", "active": True,
                "billing_scheme": "per_unit", "created": self.clock, "currency": params["currency"].lower(),
                "custom_unit_amount": None, "livemode": False, "lookup_key": None, "metadata": {},
                "nickname": params.get("nickname"), "product": product_id, "recurring": None,
                "tax_behavior": params.get("tax_behavior", "unspecified"), "tiers_mode": None,
                "transform_quantity": None, "type": "recurring" if recurring else "one_time",
                "unit_amount": amount, "unit_amount_decimal": str(amount),
            }
            if recurring:
                price["recurring"] = {"interval": recurring.get("interval", "month"),
                                      "interval_count": int(recurring.get("interval_count", 1)), "meter": None,
                                      "trial_period_days": None, "usage_type": "licensed"}
            self.catalog.price_by_id[price["id"]] = price
            self.catalog.key_of_price[price["id"]] = price["id"]
            self.public_prices[price["id"]] = price
            self._store("prices", price)
            self._emit("price.created", price)
            if recurring:
                plan = plan_from_price(price)
                self.public_plans[price["id"]] = plan
                self._store("plans", plan)
                self._emit("plan.created", plan)
            return price

    def create_coupon(self, params: dict) -> dict:
        with self.lock:
            duration = params.get("duration", "once")
            coupon = {
                "id": params.get("id") or random_id("", self._mutation_rng, 8)[1:], "object": "coupon",
                "amount_off": int(params["amount_off"]) if params.get("amount_off") else None,
                "created": self.clock, "currency": (params.get("currency") or "").lower() or None,
                "duration": duration,
                "duration_in_months": int(params["duration_in_months"]) if duration == "repeating" else None,
                "livemode": False, "max_redemptions": None, "metadata": {}, "name": params.get("name"),
                "percent_off": float(params["percent_off"]) if params.get("percent_off") else None,
                "redeem_by": None, "times_redeemed": 0, "valid": True,
            }
            self.catalog.coupons.append(coupon)
            self._store("coupons", coupon)
            self._emit("coupon.created", coupon)
            return coupon

    def create_tax_rate(self, params: dict) -> dict:
        with self.lock:
            rate = dict({
                "id": random_id("txr", self._mutation_rng, 24), "object": "tax_rate", "active": True,
                "country": None, "created": self.clock, "description": None,
                "display_name": params.get("display_name", "VAT"), "effective_percentage": None,
                "flat_amount": None, "inclusive": as_bool(params.get("inclusive", False)), "jurisdiction": None,
                "jurisdiction_level": None, "livemode": False, "metadata": {},
                "percentage": float(params["percentage"]), "rate_type": "percentage", "state": None,
                "tax_type": "vat"})
            self.tax_rates[rate["id"]] = rate
            return rate

    def tax_rate(self, rate_id: str) -> dict:
        rate = self.tax_rates.get(rate_id)
        if rate is None:
            raise missing("tax_rate", rate_id)
        return rate

    def _price(self, price_id) -> dict:
        price = self.catalog.price_by_id.get(price_id) if isinstance(price_id, str) else None
        if price is None or price["type"] != "recurring":
            raise missing("price", str(price_id), "items")
        return price

