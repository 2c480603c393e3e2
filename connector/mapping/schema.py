"""The neutral schema: provider-independent billing tables (see docs/schema.md).

Every table carries ``provider`` and the provider's own ``id`` (together the
primary key; invoice lines add ``invoice_id`` because some providers reuse line
ids across invoices) and the store's meta columns ``_synced_at``, ``_deleted``,
``_seq``, written only through ``Store.upsert_rows`` / ``Store.replace_scope``
so that rewrites with no change change nothing.

Conventions:

* money: integer minor units of ``currency`` (lower-case ISO 4217), never floats;
* instants: integer epoch seconds (UTC), columns ending in ``_at``;
* calendar days: ``YYYY-MM-DD`` text (UTC), columns ending in ``_date``;
* percentages: exact decimal text (``"25.5"``), never a float, so 33.33 % stays 33.33 %;
* lists and tiers: canonical JSON text.

The per-customer tables (everything but ``billing_plans``) carry ``customer_id``:
the mapping rewrites one customer's rows as a unit (``replace_scope``), which is
what makes an incremental mapping equal a full rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from ..store import Migration, Store, quote
from ..store.tables import Step, Table

NAMESPACE = "neutral"


@dataclass(frozen=True)
class NeutralTable(Table):
    """A neutral table; each column's third field is its meaning (the docs render these)."""

    primary_key: tuple[str, ...] = ("provider", "id")
    per_customer: bool = True

    def create_step(self) -> Step:
        # per-customer tables are read and rewritten one customer at a time
        return super().create_step({"customer": ("provider", "customer_id")} if self.per_customer else {})


_PROVIDER = ("provider", "TEXT NOT NULL", "billing provider, e.g. `stripe`")
_CUSTOMER = ("customer_id", "TEXT", "the provider's customer id")

TABLES: dict[str, NeutralTable] = {
    t.name: t
    for t in [
        NeutralTable("billing_customers", (
            _PROVIDER, ("id", "TEXT NOT NULL", "customer id (same as customer_id)"), _CUSTOMER,
            ("email", "TEXT", "email"), ("name", "TEXT", "name"),
            ("currency", "TEXT", "default currency, if set"),
            ("created_at", "INTEGER", "creation instant"),
            ("country", "TEXT", "ISO 3166-1 alpha-2 country of the customer's (billing) address, if given"),
        )),
        NeutralTable("billing_plans", (
            _PROVIDER, ("id", "TEXT NOT NULL", "price (or legacy plan) id"),
            ("product_id", "TEXT", "product id"), ("product_name", "TEXT", "product name"),
            ("nickname", "TEXT", "price nickname"),
            ("type", "TEXT", "`recurring` or `one_time`"),
            ("currency", "TEXT", "currency"),
            ("billing_scheme", "TEXT", "`per_unit` or `tiered`"),
            ("unit_amount_minor", "INTEGER", "per-unit amount (per_unit prices)"),
            ("unit_amount_decimal", "TEXT", "exact per-unit amount in minor units, may have decimals"),
            ("tiers_mode", "TEXT", "`volume` or `graduated` (tiered prices)"),
            ("tiers", "TEXT", "JSON list of {up_to, unit_amount_decimal, flat_amount_decimal}"),
            ("transform_divide_by", "INTEGER", "quantity divided by this before pricing"),
            ("transform_round", "TEXT", "`up` or `down` for the division"),
            ("interval", "TEXT", "`day`, `week`, `month`, `year` (recurring)"),
            ("interval_count", "INTEGER", "billing every interval_count intervals"),
            ("usage_type", "TEXT", "`licensed` or `metered`"),
            ("tax_behavior", "TEXT", "`inclusive`, `exclusive`, `unspecified`"),
            ("active", "INTEGER", "1 if the price can be used for new purchases"),
        ), per_customer=False),
        NeutralTable("billing_subscriptions", (
            _PROVIDER, ("id", "TEXT NOT NULL", "subscription id"), _CUSTOMER,
            ("status", "TEXT", "provider status (active, past_due, trialing, canceled, ...)"),
            ("currency", "TEXT", "currency"),
            ("created_at", "INTEGER", "creation instant"),
            ("start_at", "INTEGER", "start of the subscription"),
            ("trial_start_at", "INTEGER", "trial start"), ("trial_end_at", "INTEGER", "trial end"),
            ("current_period_start_at", "INTEGER", "current period start (earliest of its items)"),
            ("current_period_end_at", "INTEGER", "current period end (latest of its items)"),
            ("cancel_at_period_end", "INTEGER", "1 if a cancellation takes effect at the period end"),
            ("cancel_at", "INTEGER", "instant a scheduled cancellation takes effect"),
            ("canceled_at", "INTEGER", "instant the cancellation was requested"),
            ("ended_at", "INTEGER", "instant the subscription ended"),
            ("pause_behavior", "TEXT", "pause_collection.behavior when collection is paused"),
            ("pause_resumes_at", "INTEGER", "pause_collection.resumes_at"),
            ("collection_method", "TEXT", "charge_automatically or send_invoice"),
            ("discount_ids", "TEXT", "JSON list of the discounts applied, in the provider's order"),
            ("tax_rates", "TEXT", "JSON list of default tax rates {percentage, inclusive}"),
            ("billing_cycle_anchor_at", "INTEGER", "the instant future billing periods are aligned to"),
        )),
        NeutralTable("billing_subscription_items", (
            _PROVIDER, ("id", "TEXT NOT NULL", "subscription item id"), _CUSTOMER,
            ("subscription_id", "TEXT", "subscription id"),
            ("plan_id", "TEXT", "price/plan id (billing_plans.id)"),
            ("quantity", "INTEGER", "quantity"),
            ("current_period_start_at", "INTEGER", "item period start (or the subscription's)"),
            ("current_period_end_at", "INTEGER", "item period end (or the subscription's)"),
            ("created_at", "INTEGER", "creation instant"),
            ("discount_ids", "TEXT", "JSON list of item-level discounts, in order"),
            ("tax_rates", "TEXT", "JSON list of tax rates {percentage, inclusive}"),
        )),
        NeutralTable("billing_discounts", (
            _PROVIDER, ("id", "TEXT NOT NULL", "discount id (synthesised for legacy shapes)"), _CUSTOMER,
            ("subscription_id", "TEXT", "subscription it applies to"),
            ("subscription_item_id", "TEXT", "subscription item it applies to"),
            ("invoice_id", "TEXT", "invoice it applies to"),
            ("coupon_id", "TEXT", "coupon id"), ("promotion_code_id", "TEXT", "promotion code id"),
            ("duration", "TEXT", "`forever`, `repeating`, `once`"),
            ("duration_in_months", "INTEGER", "months for repeating"),
            ("percent_off", "TEXT", "exact percentage as decimal text"),
            ("amount_off_minor", "INTEGER", "fixed amount off per invoice"),
            ("currency", "TEXT", "currency of amount_off"),
            ("start_at", "INTEGER", "when the discount started"),
            ("end_at", "INTEGER", "when it ends (repeating), null = no end"),
        )),
        NeutralTable("billing_invoices", (
            _PROVIDER, ("id", "TEXT NOT NULL", "invoice id"), _CUSTOMER,
            ("subscription_id", "TEXT", "subscription billed"),
            ("status", "TEXT", "draft, open, paid, uncollectible, void"),
            ("billing_reason", "TEXT", "subscription_create, subscription_cycle, manual, ..."),
            ("currency", "TEXT", "currency"),
            ("created_at", "INTEGER", "creation instant"),
            ("period_start_at", "INTEGER", "invoice period start"), ("period_end_at", "INTEGER", "invoice period end"),
            ("subtotal_minor", "INTEGER", "sum of line amounts before discounts"),
            ("discount_minor", "INTEGER", "total discounts"),
            ("tax_minor", "INTEGER", "total taxes, exclusive and inclusive"),
            ("total_excluding_tax_minor", "INTEGER", "total after discounts, before (net of) tax"),
            ("total_minor", "INTEGER", "total billed"),
            ("amount_paid_minor", "INTEGER", "paid"),
            ("amount_refunded_minor", "INTEGER", "refunded through refunds of its payments"),
            ("amount_credited_minor", "INTEGER", "credited by credit notes"),
        )),
        NeutralTable("billing_invoice_lines", (
            _PROVIDER, ("id", "TEXT NOT NULL", "line id"), ("invoice_id", "TEXT NOT NULL", "invoice id"), _CUSTOMER,
            ("subscription_id", "TEXT", "subscription it bills"),
            ("subscription_item_id", "TEXT", "subscription item it bills"),
            ("plan_id", "TEXT", "price/plan id"),
            ("kind", "TEXT", "`recurring`, `proration`, `one_time`, `usage` or `unknown`"),
            ("quantity", "INTEGER", "quantity"),
            ("currency", "TEXT", "currency"),
            ("amount_minor", "INTEGER", "amount as billed, before discounts (inclusive tax inside)"),
            ("discount_minor", "INTEGER", "discounts applied to the line"),
            ("tax_minor", "INTEGER", "all taxes on the line"),
            ("tax_inclusive_minor", "INTEGER", "the part of tax_minor included in amount_minor"),
            ("net_minor", "INTEGER", "amount - discounts - inclusive tax: revenue excluding tax"),
            ("discount_amounts", "TEXT", "JSON list of {discount, amount} in the provider's order"),
            ("period_start_at", "INTEGER", "service period start"), ("period_end_at", "INTEGER", "service period end"),
            ("service_start_date", "TEXT", "service period start day"),
            ("service_end_date", "TEXT", "service period end day (exclusive)"),
        ), primary_key=("provider", "invoice_id", "id")),
        NeutralTable("billing_refunds", (
            _PROVIDER, ("id", "TEXT NOT NULL", "refund id"), _CUSTOMER,
            ("charge_id", "TEXT", "charge refunded"), ("invoice_id", "TEXT", "invoice the charge paid"),
            ("status", "TEXT", "succeeded, pending, failed, canceled"),
            ("currency", "TEXT", "currency"), ("amount_minor", "INTEGER", "amount refunded"),
            ("created_at", "INTEGER", "creation instant"),
        )),
        NeutralTable("billing_credit_notes", (
            _PROVIDER, ("id", "TEXT NOT NULL", "credit note id"), _CUSTOMER,
            ("invoice_id", "TEXT", "invoice credited"), ("status", "TEXT", "issued or void"),
            ("type", "TEXT", "pre_payment or post_payment"), ("reason", "TEXT", "reason given"),
            ("currency", "TEXT", "currency"),
            ("total_minor", "INTEGER", "total credited"),
            ("total_excluding_tax_minor", "INTEGER", "total credited excluding tax"),
            ("created_at", "INTEGER", "creation instant"),
        )),
        NeutralTable("billing_subscription_changes", (
            _PROVIDER, ("id", "TEXT NOT NULL", "event id : subscription item id"), _CUSTOMER,
            ("event_id", "TEXT", "the provider event that recorded the change (null: a schedule phase)"),
            ("subscription_id", "TEXT", "subscription changed"),
            ("subscription_item_id", "TEXT", "item that took a new price or quantity"),
            ("changed_at", "INTEGER", "when the change happened (the event's creation, or the phase's start)"),
            ("plan_id", "TEXT", "price after the change"), ("quantity", "INTEGER", "quantity after the change"),
            ("previous_plan_id", "TEXT", "price before (null: the item is new)"),
            ("previous_quantity", "INTEGER", "quantity before"),
            ("status", "TEXT", "subscription status after the change (status changes only)"),
            ("previous_status", "TEXT", "subscription status before the change (status changes only)"),
        )),
        NeutralTable("billing_unclassified", (
            _PROVIDER, ("object_type", "TEXT NOT NULL", "provider object type"),
            ("id", "TEXT NOT NULL", "object id"), _CUSTOMER,
            ("reason", "TEXT NOT NULL", "what the mapping did not recognise"),
            ("amount_minor", "INTEGER", "the amount at stake, if known"),
            ("currency", "TEXT", "its currency"),
        ), primary_key=("provider", "object_type", "id", "reason")),
    ]
}


def _index_dependents(db: sqlite_utils.Database) -> None:
    # Lookups the incremental mapping makes for every changed price or coupon.
    db.execute("CREATE INDEX idx_billing_subscription_items_plan ON billing_subscription_items (plan_id)")
    db.execute("CREATE INDEX idx_billing_invoice_lines_plan ON billing_invoice_lines (plan_id)")
    db.execute("CREATE INDEX idx_billing_discounts_coupon ON billing_discounts (coupon_id)")
    # Stripe's refunds are found from their charge; its raw table indexes only customer/invoice.
    # (A Chargebee store has no such raw table: its refunds are transactions.)
    if db["refunds"].exists():
        db.execute("CREATE INDEX IF NOT EXISTS idx_refunds_charge_neutral ON refunds (charge)")


_LATER = ("billing_subscription_changes",)   # added after 0001; a new table gets its own step

def _subscription_change_status(db: sqlite_utils.Database) -> None:
    """Status columns of billing_subscription_changes: a store made before them gains them
    (a table created by step 0003 after they were declared already has them)."""
    present = {row[1] for row in db.execute("PRAGMA table_info(billing_subscription_changes)").fetchall()}
    for column in ("status", "previous_status"):
        if column not in present:
            db.execute(f"ALTER TABLE billing_subscription_changes ADD COLUMN {quote(column)} TEXT")


def _subscription_billing_cycle_anchor(db: sqlite_utils.Database) -> None:
    """billing_subscriptions.billing_cycle_anchor_at for a store made before it."""
    present = {row[1] for row in db.execute("PRAGMA table_info(billing_subscriptions)").fetchall()}
    if "billing_cycle_anchor_at" not in present:
        db.execute("ALTER TABLE billing_subscriptions ADD COLUMN billing_cycle_anchor_at INTEGER")


def _customer_country(db: sqlite_utils.Database) -> None:
    """billing_customers.country: a store made before it gains the column (filled by the next mapping)."""
    present = {row[1] for row in db.execute("PRAGMA table_info(billing_customers)").fetchall()}
    if "country" not in present:
        db.execute("ALTER TABLE billing_customers ADD COLUMN country TEXT")


NEUTRAL_MIGRATIONS: list[Migration] = [
    *[(f"0001_{name}", table.create_step()) for name, table in TABLES.items() if name not in _LATER],
    ("0002_dependency_indexes", _index_dependents),
    *[(f"0003_{name}", TABLES[name].create_step()) for name in _LATER],
    ("0004_subscription_change_status", _subscription_change_status),
    ("0005_subscription_billing_cycle_anchor", _subscription_billing_cycle_anchor),
    ("0006_customer_country", _customer_country),
]


def country_code(address) -> str | None:
    """An address's two-letter country (ISO 3166-1 alpha-2), upper-case; None when absent or not a code."""
    country = (address or {}).get("country") if isinstance(address, dict) else None
    return country.strip().upper() if isinstance(country, str) and len(country.strip()) == 2 else None


def ensure_schema(store: Store) -> None:
    store.migrate(NAMESPACE, NEUTRAL_MIGRATIONS)


def unclassified_summary(store: Store) -> list[dict]:
    """Unclassified objects grouped for ``billing-connector status``.

    One dict per (provider, object_type, reason, currency): ``count`` objects
    and ``amount_minor`` their summed amount (amounts of one currency only).
    """
    ensure_schema(store)
    cursor = store.db.execute(
        "SELECT provider, object_type, reason, currency, count(*), sum(coalesce(amount_minor, 0)) "
        "FROM billing_unclassified WHERE _deleted = 0 "
        "GROUP BY provider, object_type, reason, currency ORDER BY provider, object_type, reason, currency"
    )
    return [
        {"provider": p, "object_type": o, "reason": r, "currency": c, "count": n, "amount_minor": a}
        for p, o, r, c, n, a in cursor.fetchall()
    ]
