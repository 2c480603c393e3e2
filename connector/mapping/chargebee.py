"""A Chargebee site's raw objects → the neutral tables (pure: no store, no HTTP).

``map_account(objects)`` takes the raw lists by stream name (as the catalog
names them: ``customers``, ``item_prices``, ``subscriptions``, ...; deleted
records are skipped) and returns every neutral row and the unclassified rows.
The per-customer work is ``chargebee_rows.map_customer``, so an incremental
mapping can redo only the customers that changed, as the Stripe mapping does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .chargebee_plans import plan_row
from .chargebee_rows import TABLES, CustomerRaw, map_customer

_OWNED = ("subscriptions", "invoices", "credit_notes", "transactions")


def _live(objects: Mapping[str, list[Mapping[str, Any]]], stream: str) -> list[Mapping[str, Any]]:
    return [o for o in objects.get(stream) or [] if not o.get("deleted")]


def plan_rows(objects: Mapping[str, list[Mapping[str, Any]]]) -> tuple[list[dict], list[dict]]:
    """``billing_plans`` rows for every item price (PC 2.0) or plan and addon (PC 1.0)."""
    items = {i["id"]: i for i in _live(objects, "items")}
    rows, flagged = [], []
    sources = [("item_price", p) for p in _live(objects, "item_prices")]
    sources += [("plan", p) for p in _live(objects, "plans")] + [("addon", a) for a in _live(objects, "addons")]
    for kind, price in sources:
        item = items.get(price.get("item_id") or "", {})
        row, problems = plan_row(price, kind=kind, product_name=item.get("name"), metered=bool(item.get("metered")))
        rows.append(row)
        flagged += problems
    return rows, flagged


def customer_raws(objects: Mapping[str, list[Mapping[str, Any]]]) -> dict[str, CustomerRaw]:
    """Each customer's raw objects, by customer id (objects of unknown customers get a raw of their own)."""
    raws = {c["id"]: CustomerRaw(c["id"], customer=c) for c in _live(objects, "customers")}
    for stream in _OWNED:
        for obj in _live(objects, stream):
            owner = obj.get("customer_id")
            if owner is None:
                continue
            getattr(raws.setdefault(owner, CustomerRaw(owner)), stream).append(obj)
    return raws


def map_account(objects: Mapping[str, list[Mapping[str, Any]]]) -> tuple[dict[str, list[dict]], list[dict]]:
    """(rows by neutral table, unclassified rows) for a whole site."""
    prices = {p["id"]: p for s in ("item_prices", "plans", "addons") for p in objects.get(s) or []}
    coupons = {c["id"]: c for c in objects.get("coupons") or []}
    tables: dict[str, list[dict]] = {"billing_plans": [], **{name: [] for name in TABLES}}
    tables["billing_plans"], flagged = plan_rows(objects)
    for _, raw in sorted(customer_raws(objects).items()):
        rows = map_customer(raw, coupons.get, prices.get)
        for name, table_rows in rows.tables.items():
            tables[name] += table_rows
        flagged += rows.unclassified
    return tables, flagged
