"""A small but varied account built through localstripe's API, and localstripe's own listing of it.

What the account holds (localstripe has no prices, credit notes, promotion
codes, applied discounts or multi-item subscriptions, so neither does this
account):

* 5 customers: 4 with a card that pays, 1 with a card that is declined on charge;
* 3 products and 4 plans (monthly and yearly USD, a 3-monthly USD plan, weekly EUR);
* 3 coupons: 20 % off forever, 10 % off for 3 months, 5 USD off once;
* 6 single-item subscriptions: active ones (one of quantity 3), one with a
  14-day trial (localstripe leaves it `incomplete`, with no invoice), one
  canceled, one `incomplete` after its first charge was declined;
* invoice items: 12 billed on one manual invoice (localstripe adds the
  subscription's line: 13 lines, more than the 10 an invoice embeds, so the sync
  must page `/v1/invoices/{id}/lines`), 2 on a draft invoice, 3 still pending
  (localstripe lists only pending items);
* charges: every invoice payment plus 3 direct charges, one of them on the
  declined card (so listed as `failed`);
* refunds: one full and one partial of direct charges, one partial of an
  invoice's charge.
"""

from __future__ import annotations

from typing import Any

import requests

PAYING_CARD = "4242424242424242"
# Attaches fine, declines every charge (localstripe's list of declining test cards).
DECLINED_CARD = "4000000000000341"

# stream -> (list path, extra list params); nested tables are read from their parents.
LIST_PATHS: dict[str, tuple[str, dict[str, str]]] = {
    "customers": ("/v1/customers", {}),
    "products": ("/v1/products", {}),
    "plans": ("/v1/plans", {}),
    "coupons": ("/v1/coupons", {}),
    "subscriptions": ("/v1/subscriptions", {"status": "all"}),
    "invoices": ("/v1/invoices", {}),
    "invoice_items": ("/v1/invoiceitems", {}),
    "charges": ("/v1/charges", {}),
    "refunds": ("/v1/refunds", {}),
}
STREAMS = list(LIST_PATHS)
NESTED_TABLES = ("subscription_items", "invoice_line_items")


class LocalstripeClient:
    """Form-encoded POSTs and paged GETs against one localstripe, with the key as HTTP basic auth."""

    def __init__(self, base: str, api_key: str):
        self.base = base
        self.session = requests.Session()
        self.session.auth = (api_key, "")

    def post(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.session.post(self.base + path, data=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def delete(self, path: str) -> dict[str, Any]:
        response = self.session.delete(self.base + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def list_all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every object of a list, following `starting_after` until `has_more` is false."""
        objects: list[dict[str, Any]] = []
        after = None
        while True:
            query = {"limit": "100", **(params or {})}
            if after:
                query["starting_after"] = after
            response = self.session.get(self.base + path, params=query, timeout=10)
            response.raise_for_status()
            body = response.json()
            objects.extend(body["data"])
            if not body["has_more"]:
                return objects
            after = body["data"][-1]["id"]


def _customer(client: LocalstripeClient, email: str, card_number: str) -> str:
    card = {"card[number]": card_number, "card[exp_month]": "12", "card[exp_year]": "2031", "card[cvc]": "123"}
    method = client.post("/v1/payment_methods", type="card", **card)["id"]
    customer = client.post(
        "/v1/customers", email=email, name=email.split("@")[0].title(),
        payment_method=method, **{"invoice_settings[default_payment_method]": method},
    )
    return customer["id"]


def _subscribe(client: LocalstripeClient, customer: str, plan: str, **extra: Any) -> dict[str, Any]:
    return client.post("/v1/subscriptions", customer=customer, **{"items[0][plan]": plan}, **extra)


def _invoice_item(client: LocalstripeClient, customer: str, amount: int, description: str) -> str:
    item = client.post("/v1/invoiceitems", customer=customer, amount=amount, currency="usd", description=description)
    return item["id"]


def build_account(client: LocalstripeClient) -> dict[str, str]:
    """Create the account described in the module docstring; returns the ids tests refer to by role."""
    ada = _customer(client, "ada@example.test", PAYING_CARD)
    bob = _customer(client, "bob@example.test", PAYING_CARD)
    cyd = _customer(client, "cyd@example.test", PAYING_CARD)
    dee = _customer(client, "dee@example.test", PAYING_CARD)
    eve = _customer(client, "eve@example.test", DECLINED_CARD)

    starter = client.post("/v1/products", name="Starter")["id"]
    team = client.post("/v1/products", name="Team")["id"]
    addon = client.post("/v1/products", name="Storage add-on")["id"]
    starter_monthly = client.post("/v1/plans", product=starter, amount=1900, currency="usd", interval="month")["id"]
    team_yearly = client.post("/v1/plans", product=team, amount=99000, currency="usd", interval="year")["id"]
    team_quarterly = client.post(
        "/v1/plans", product=team, amount=27000, currency="usd", interval="month", interval_count=3
    )["id"]
    addon_weekly = client.post("/v1/plans", product=addon, amount=250, currency="eur", interval="week")["id"]
    client.post("/v1/coupons", id="LOYAL20", duration="forever", percent_off=20)
    client.post("/v1/coupons", id="LAUNCH10", duration="repeating", duration_in_months=3, percent_off=10)
    client.post("/v1/coupons", id="WELCOME5", duration="once", amount_off=500, currency="usd")

    # A pending item is swept into the next invoice of its customer: ada's setup
    # fee lands on her first subscription invoice.
    _invoice_item(client, ada, 5000, "Setup fee")
    ada_sub = _subscribe(client, ada, starter_monthly)["id"]
    bob_sub = _subscribe(client, bob, team_yearly, **{"items[0][quantity]": 3})["id"]
    cyd_sub = _subscribe(client, cyd, team_quarterly)["id"]
    dee_trial = _subscribe(client, dee, addon_weekly, trial_period_days=14)["id"]
    cyd_canceled = _subscribe(client, cyd, starter_monthly)["id"]
    client.delete(f"/v1/subscriptions/{cyd_canceled}")
    eve_incomplete = _subscribe(client, eve, starter_monthly)["id"]

    # 12 one-off items on one manual invoice (more lines than an invoice embeds), 2 on another.
    for n in range(12):
        _invoice_item(client, bob, 100 * (n + 1), f"Consulting hour {n + 1}")
    bob_invoice = client.post("/v1/invoices", customer=bob)["id"]
    client.post(f"/v1/invoices/{bob_invoice}/pay")
    _invoice_item(client, dee, 1200, "Extra seats")
    _invoice_item(client, dee, -200, "Goodwill credit")
    dee_invoice = client.post("/v1/invoices", customer=dee)["id"]

    # Still pending when the sync runs.
    for amount in (700, 800, 900):
        _invoice_item(client, cyd, amount, "Usage overage")

    direct_full = client.post("/v1/charges", customer=ada, amount=4200, currency="usd", description="Workshop")["id"]
    direct_partial = client.post("/v1/charges", customer=bob, amount=10000, currency="usd", description="Training")["id"]
    declined = client.session.post(
        client.base + "/v1/charges", data={"customer": eve, "amount": 3000, "currency": "usd"}, timeout=10
    )
    assert declined.status_code == 402, declined.text  # localstripe keeps the failed charge
    client.post("/v1/refunds", charge=direct_full)
    client.post("/v1/refunds", charge=direct_partial, amount=2500)
    # ada's other charge is the one that paid her subscription's first invoice.
    ada_invoice_charge = next(c["id"] for c in client.list_all("/v1/charges", {"customer": ada}) if c["id"] != direct_full)
    client.post("/v1/refunds", charge=ada_invoice_charge, amount=1000)

    return {
        "ada_subscription": ada_sub, "bob_subscription": bob_sub, "cyd_subscription": cyd_sub,
        "dee_trial": dee_trial, "cyd_canceled": cyd_canceled, "eve_incomplete": eve_incomplete,
        "bob_invoice": bob_invoice, "dee_invoice": dee_invoice, "ada_invoice_charge": ada_invoice_charge,
    }


def inventory(client: LocalstripeClient) -> dict[str, dict[str, dict[str, Any]]]:
    """localstripe's own view: table -> id -> object, nested items and lines read from their parents."""
    tables: dict[str, dict[str, dict[str, Any]]] = {
        stream: {obj["id"]: obj for obj in client.list_all(path, params)} for stream, (path, params) in LIST_PATHS.items()
    }
    tables["subscription_items"] = {}
    for subscription in tables["subscriptions"].values():
        assert not subscription["items"]["has_more"]  # single-item subscriptions: one embedded page
        for item in subscription["items"]["data"]:
            tables["subscription_items"][item["id"]] = item
    tables["invoice_line_items"] = {}
    for invoice_id in tables["invoices"]:
        for line in client.list_all(f"/v1/invoices/{invoice_id}/lines"):
            tables["invoice_line_items"][line["id"]] = line
    return tables
