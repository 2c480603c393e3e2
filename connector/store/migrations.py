"""The store's own schema: the layout version, ``_meta``/``_migrations``, and each provider's raw tables.

Schema changes are registered migrations, recorded in ``_migrations`` per
namespace (``raw``, ``raw_chargebee``, ``neutral``, ``mrr``, ``export`` ...),
never ad hoc ALTERs. The raw tables' namespace follows the provider whose
account the store holds (one per file).
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from ..errors import StoreError
from . import first_load, quarantine, raw_chargebee, raw_stripe
from .core import DELETED_ROWS_INDEX, Migration, Store
from .sql import quote

# The store's layout version, recorded in _meta. Bump it with a change an older
# version could not write correctly; an older version then refuses to write.
# 2: a data table's key may be a unique index of its own, dropped while a first load fills the
# table (store/first_load.py, recorded in _meta): a version before it would insert rows beside
# a dropped key, never finish the load, and export such a table as keyless.
STORE_SCHEMA_VERSION = 2


def create_bookkeeping(db: sqlite_utils.Database) -> None:
    """``_meta`` and ``_migrations``: what every store has before any migration can be recorded."""
    with db.atomic():
        db.execute("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations ("
            "namespace TEXT NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, "
            "PRIMARY KEY (namespace, name))"
        )


def refuse_newer_version(path: str | Path | None, recorded: str | None) -> None:
    """Refuse to write a store a newer billing-connector laid out (it may hold what we would break)."""
    if recorded is None:
        return
    if not recorded.isdigit() or int(recorded) > STORE_SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer billing-connector (store schema {recorded}, this version "
            f"writes {STORE_SCHEMA_VERSION}): upgrade billing-connector; nothing was written"
        )


def _create_sync_state(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE _sync_state (provider TEXT NOT NULL, account_id TEXT NOT NULL, "
        "stream TEXT NOT NULL, state TEXT NOT NULL, updated_at TEXT NOT NULL, "
        "PRIMARY KEY (provider, account_id, stream))"
    )


def _create_pending_children(db: sqlite_utils.Database) -> None:
    """Child lists a stream's interrupted read still has to read apart (sync/full.py): a row each,
    added with the page that named it and dropped with the list's write, so neither costs more as
    thousands wait behind their endpoint."""
    db.execute(
        "CREATE TABLE _pending_children (stream TEXT NOT NULL, child_table TEXT NOT NULL, "
        "parent_id TEXT NOT NULL, PRIMARY KEY (stream, child_table, parent_id)) WITHOUT ROWID"
    )


def _deleted_rows_indexes(tables) -> Migration:
    """Each raw table's soft-deleted rows in a partial index of their own (``DELETED_ROWS_INDEX``):
    the live rows are then counted as all rows (counted from the smallest index) less those, where
    a count of ``_deleted = 0`` read the whole table (``Store.table_counts``: every sync's summary,
    ``status``; 3.7 GB at 20,000 customers, from the disk after a night)."""
    def step(db: sqlite_utils.Database) -> None:
        for name in tables:
            db.execute(DELETED_ROWS_INDEX.format(index=quote(f"idx_{name}__deleted"), table=quote(name)))
    return step


def _raw_step(spec, indexed: tuple[str, ...]):
    """A raw table's creation step, with an index on each of its columns named in ``indexed`` and
    the partial index of its soft-deleted rows (a raw table added later has it from the start)."""
    create = spec.create_step({column: (column,) for column in spec.column_names if column in indexed})

    def step(db: sqlite_utils.Database) -> None:
        create(db)
        _deleted_rows_indexes([spec.name])(db)
    return step


def _charges_refund_index(db: sqlite_utils.Database) -> None:
    """The charges' customer index made covering for the mapping's one question about most charges:
    whether money came back (``amount_refunded``; its ``id`` for a live refund). Without it, every
    charge of a batch of customers was read from its table page for those two values, and the pages
    are shared with other customers' charges (listed by date): at 20,000 customers 7.3 GiB read
    (38.8 -> 31.5 GiB for the refresh) for the 2 % of charges ever refunded."""
    first_load.replace_index(db, "charges", "idx_charges_customer", "CREATE INDEX idx_charges_customer_refunded "
                             "ON charges (customer, _deleted, amount_refunded, id)")


def _subscription_events_index(db: sqlite_utils.Database) -> None:
    """Stripe's subscription-change events by their customer: the mapping reads a batch of
    customers' events through it instead of scanning every event stored, which grows with each
    nightly sync. (A first sync drops it and builds it at its load's end, as the other indexes.)"""
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_events_subscription_customer ON events "
               f"({raw_stripe.EVENT_CUSTOMER}) WHERE {raw_stripe.SUBSCRIPTION_EVENTS_WHERE}")


_STRIPE_TABLES = raw_stripe.RAW_TABLES
_STRIPE_INDEXED = ("customer", "subscription", "invoice", "created")
# Tables added after 0002: each has its own step below, so stores made before it get the table too.
_ADDED_LATER = {"invoice_payments"}

RAW_MIGRATIONS: list[Migration] = [
    ("0001_sync_state", _create_sync_state),
    *[(f"0002_table_{name}", _raw_step(spec, _STRIPE_INDEXED)) for name, spec in _STRIPE_TABLES.items()
      if name not in _ADDED_LATER],
    ("0003_table_invoice_payments", _raw_step(_STRIPE_TABLES["invoice_payments"], _STRIPE_INDEXED)),
    ("0004_quarantine", quarantine.create_table),
    ("0005_pending_children", _create_pending_children),
    ("0006_charges_refund_index", _charges_refund_index),
    ("0007_deleted_rows_indexes", _deleted_rows_indexes(_STRIPE_TABLES)),
    ("0008_subscription_events_index", _subscription_events_index),
]

CHARGEBEE_MIGRATIONS: list[Migration] = [
    ("0001_sync_state", _create_sync_state),
    *[(f"0002_table_{name}", _raw_step(spec, ("customer_id", "subscription_id", "created_at", "date")))
      for name, spec in raw_chargebee.RAW_TABLES.items()],
    ("0003_quarantine", quarantine.create_table),
    ("0004_pending_children", _create_pending_children),
    ("0005_deleted_rows_indexes", _deleted_rows_indexes(raw_chargebee.RAW_TABLES)),
]

# A store's raw tables by provider: (migration namespace, tables, migrations).
PROVIDER_TABLES = {
    "stripe": ("raw", _STRIPE_TABLES, RAW_MIGRATIONS),
    "chargebee": ("raw_chargebee", raw_chargebee.RAW_TABLES, CHARGEBEE_MIGRATIONS),
}
LABELS = {"stripe": "Stripe", "chargebee": "Chargebee"}


def recorded_provider(store: Store) -> str | None:
    """The provider whose raw tables the store holds (its bound account's, else its migrations'); None if new."""
    recorded = store.meta("provider")
    if recorded:
        return recorded
    for provider, (namespace, _tables, _steps) in PROVIDER_TABLES.items():
        if store.db.execute("SELECT 1 FROM _migrations WHERE namespace = ?", [namespace]).fetchone():
            return provider
    return None


def use_provider(store: Store, provider: str) -> None:
    """Bring the provider's raw tables up to date (a read-only store refuses a pending step) and use them."""
    if provider not in PROVIDER_TABLES:
        raise StoreError(f"{store.path} holds data of provider {provider!r}, which this version does not read")
    namespace, tables, steps = PROVIDER_TABLES[provider]
    store.migrate(namespace, steps)
    store.provider, store.raw_tables = provider, tables


def bootstrap(store: Store, provider: str | None) -> None:
    """Make a writable store current: bookkeeping tables, its provider's raw tables, its layout version.

    Refuses a store a newer version laid out or one holding another provider's account.
    """
    create_bookkeeping(store.db)
    # checked again under the lock: another version may have written it since the first look
    refuse_newer_version(store.path, store.meta("schema_version"))
    recorded = recorded_provider(store)
    if provider is not None and recorded is not None and provider != recorded:
        account = store.meta("account_id") or "no account yet"
        raise StoreError(
            f"{store.path} holds a {LABELS.get(recorded, recorded)} account ({account}), not a "
            f"{LABELS.get(provider, provider)} one: one provider account per store; pass another --db"
        )
    use_provider(store, recorded or provider or "stripe")
    if store.meta("schema_version") != str(STORE_SCHEMA_VERSION):
        with store.db.atomic():
            store.set_meta("schema_version", str(STORE_SCHEMA_VERSION))
