"""The raw tables of a Chargebee store: one per catalog stream, named as the catalog names them.

Each keeps the whole object as canonical JSON in ``data`` plus typed columns
for what queries need (``connector.store.tables.RawTable``, the Stripe tables' own
shape). Embedded lists (subscription items, coupons and discounts; invoice and
credit note line items, their discounts and taxes) stay inside the parent's
``data``, complete: the adapter completes truncated line lists before a page
is handed over, and the mapping reads them there. A store holds one provider
account, so ``customers`` or ``invoices`` never mix Stripe's and Chargebee's.
"""

from __future__ import annotations

from .tables import RawTable

_UPDATED = ("updated_at", "INTEGER", "updated_at")
_DELETED = ("deleted", "INTEGER", "deleted")
_CUSTOMER = ("customer_id", "TEXT", "customer_id")
_SUBSCRIPTION = ("subscription_id", "TEXT", "subscription_id")
_CURRENCY = ("currency_code", "TEXT", "currency_code")
_STATUS = ("status", "TEXT", "status")

_COLUMNS = {
    "customers": (("created_at", "INTEGER", "created_at"), _UPDATED, _DELETED, ("email", "TEXT", "email"),
                  ("preferred_currency_code", "TEXT", "preferred_currency_code")),
    "item_families": (_UPDATED, _STATUS, ("name", "TEXT", "name")),
    "items": (_UPDATED, _STATUS, ("item_family_id", "TEXT", "item_family_id"), ("type", "TEXT", "type")),
    "item_prices": (("created_at", "INTEGER", "created_at"), _UPDATED, _STATUS, ("item_id", "TEXT", "item_id"),
                    _CURRENCY, ("pricing_model", "TEXT", "pricing_model"), ("price", "INTEGER", "price"),
                    ("period", "INTEGER", "period"), ("period_unit", "TEXT", "period_unit")),
    "plans": (_UPDATED, _STATUS, _CURRENCY, ("pricing_model", "TEXT", "pricing_model"), ("price", "INTEGER", "price"),
              ("period", "INTEGER", "period"), ("period_unit", "TEXT", "period_unit")),
    "addons": (_UPDATED, _STATUS, _CURRENCY, ("charge_type", "TEXT", "charge_type"), ("price", "INTEGER", "price")),
    "coupons": (("created_at", "INTEGER", "created_at"), _UPDATED, _STATUS,
                ("duration_type", "TEXT", "duration_type"), ("discount_type", "TEXT", "discount_type")),
    "subscriptions": (("created_at", "INTEGER", "created_at"), _UPDATED, _DELETED, _CUSTOMER, _STATUS, _CURRENCY,
                      ("current_term_end", "INTEGER", "current_term_end"), ("cancelled_at", "INTEGER", "cancelled_at"),
                      ("due_invoices_count", "INTEGER", "due_invoices_count"), ("mrr", "INTEGER", "mrr")),
    "invoices": (("date", "INTEGER", "date"), _UPDATED, _DELETED, _CUSTOMER, _SUBSCRIPTION, _STATUS, _CURRENCY,
                 ("total", "INTEGER", "total"), ("amount_paid", "INTEGER", "amount_paid")),
    "credit_notes": (("date", "INTEGER", "date"), _UPDATED, _DELETED, _CUSTOMER, _SUBSCRIPTION, _STATUS, _CURRENCY,
                     ("reference_invoice_id", "TEXT", "reference_invoice_id"), ("total", "INTEGER", "total")),
    "transactions": (("date", "INTEGER", "date"), _UPDATED, _DELETED, _CUSTOMER, _SUBSCRIPTION, _STATUS, _CURRENCY,
                     ("type", "TEXT", "type"), ("amount", "INTEGER", "amount")),
    "unbilled_charges": (("created_at", "INTEGER", "created_at"), _UPDATED, _DELETED, _CUSTOMER, _SUBSCRIPTION,
                         _CURRENCY, ("amount", "INTEGER", "amount")),
    "events": (("occurred_at", "INTEGER", "occurred_at"), ("event_type", "TEXT", "event_type")),
}

RAW_TABLES: dict[str, RawTable] = {name: RawTable(name, columns) for name, columns in _COLUMNS.items()}
