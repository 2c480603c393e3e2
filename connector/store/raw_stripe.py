"""Stripe's raw tables: one per object type, named as Stripe's warehouse export names them.

Each table keeps the whole object as canonical JSON in ``data`` plus the typed
columns queries need (foreign keys, status, money, time). The list here is the
single source of truth for table names, primary keys and typed columns; the
Stripe adapter maps its endpoints onto these names.
"""

from __future__ import annotations

from .tables import RawTable

# Events say when a subscription changed (30 days back); the raw table has no customer column, so
# the mapping finds a customer's by this expression, through an index on it (migrations.py).
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
EVENT_CUSTOMER = "json_extract(data, '$.data.object.customer')"
# A query's condition on the type, written as the index's own (a partial index serves a query
# whose WHERE repeats its condition, a literal, not a bound value)
SUBSCRIPTION_EVENTS_WHERE = f"type = '{SUBSCRIPTION_UPDATED}'"

_CREATED = ("created", "INTEGER", "created")
_LIVEMODE = ("livemode", "INTEGER", "livemode")

RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in [
        RawTable("customers", (_CREATED, _LIVEMODE, ("email", "TEXT", "email"), ("currency", "TEXT", "currency"))),
        RawTable("products", (_CREATED, _LIVEMODE, ("name", "TEXT", "name"), ("active", "INTEGER", "active"))),
        RawTable(
            "prices",
            (
                _CREATED,
                _LIVEMODE,
                ("product", "TEXT", "product"),
                ("currency", "TEXT", "currency"),
                ("unit_amount", "INTEGER", "unit_amount"),
                ("type", "TEXT", "type"),
                ("interval", "TEXT", "recurring.interval"),
                ("interval_count", "INTEGER", "recurring.interval_count"),
            ),
        ),
        RawTable(
            "plans",
            (
                _CREATED,
                _LIVEMODE,
                ("product", "TEXT", "product"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
                ("interval", "TEXT", "interval"),
                ("interval_count", "INTEGER", "interval_count"),
            ),
        ),
        RawTable(
            "coupons",
            (
                _CREATED,
                _LIVEMODE,
                ("duration", "TEXT", "duration"),
                ("percent_off", "REAL", "percent_off"),
                ("amount_off", "INTEGER", "amount_off"),
                ("currency", "TEXT", "currency"),
            ),
        ),
        RawTable("promotion_codes", (_CREATED, _LIVEMODE, ("code", "TEXT", "code"), ("customer", "TEXT", "customer"))),
        RawTable(
            "subscriptions",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("cancel_at_period_end", "INTEGER", "cancel_at_period_end"),
                ("canceled_at", "INTEGER", "canceled_at"),
                ("ended_at", "INTEGER", "ended_at"),
            ),
        ),
        RawTable(
            "subscription_items",
            (
                _CREATED,
                ("subscription", "TEXT", "subscription"),
                ("price", "TEXT", "price"),
                ("quantity", "INTEGER", "quantity"),
            ),
        ),
        RawTable(
            "invoices",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("subscription", "TEXT", "parent.subscription_details.subscription|subscription"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("total", "INTEGER", "total"),
                ("amount_paid", "INTEGER", "amount_paid"),
            ),
        ),
        RawTable(
            "invoice_line_items",
            (
                ("invoice", "TEXT", "invoice"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
                ("period_start", "INTEGER", "period.start"),
                ("period_end", "INTEGER", "period.end"),
            ),
            primary_key=("id", "invoice"),
        ),
        # An invoice's payments (API 2025-03-31.basil on): the only link from a charge or
        # payment intent, and so from a refund, to the invoice it paid.
        RawTable(
            "invoice_payments",
            (
                _CREATED,
                _LIVEMODE,
                ("invoice", "TEXT", "invoice"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("amount_paid", "INTEGER", "amount_paid"),
                ("amount_requested", "INTEGER", "amount_requested"),
                ("payment_type", "TEXT", "payment.type"),
                ("charge", "TEXT", "payment.charge"),
                ("payment_intent", "TEXT", "payment.payment_intent"),
            ),
        ),
        RawTable(
            "invoice_items",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("invoice", "TEXT", "invoice"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
            ),
        ),
        RawTable(
            "credit_notes",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("invoice", "TEXT", "invoice"),
                ("currency", "TEXT", "currency"),
                ("total", "INTEGER", "total"),
            ),
        ),
        RawTable(
            "charges",
            (
                _CREATED,
                _LIVEMODE,
                ("customer", "TEXT", "customer"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
                ("amount_refunded", "INTEGER", "amount_refunded"),
            ),
        ),
        RawTable(
            "refunds",
            (
                _CREATED,
                ("charge", "TEXT", "charge"),
                ("status", "TEXT", "status"),
                ("currency", "TEXT", "currency"),
                ("amount", "INTEGER", "amount"),
            ),
        ),
        RawTable("events", (_CREATED, _LIVEMODE, ("type", "TEXT", "type"), ("object_id", "TEXT", "data.object.id"))),
    ]
}
