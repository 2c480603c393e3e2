"""The Chargebee mapping from the store: raw rows → neutral tables, incrementally.

``map_changes`` reads the raw rows whose ``_seq`` is above the mapping's
watermark (``_meta`` ``mapping_seq``, written in the same transaction as the
neutral rows) and rewrites each touched customer whole (``replace_scope``), as
the Stripe mapping does, so any sequence of incremental mappings ends with the
tables one ``map_all`` writes. A changed coupon, item price, plan or addon
changes the rows of the customers whose subscriptions, invoices or credit notes
name it (discount terms, prices of items and lines): those customers are
remapped — found by the object's id in their raw JSON, a superset of the ones
that use it, so none is missed — and the plan rows are rewritten (as for a
changed item or item family, which only they read). Past
``TARGETED_REMAP_LIMIT`` changed objects (a catalog migration), every customer
is remapped: one pass is then cheaper than a search per object. The rows
themselves come from the pure functions of ``chargebee.py`` / ``chargebee_rows.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..store import jsontext
from ..store import quarantine
from ..store.quarantine import Rejected
from ..store import Store, quote
from ..values import MAX_ABS_NUMBER, object_problem
from .chargebee import plan_rows
from .chargebee_rows import CustomerRaw, map_customer
from .chargebee_shapes import PROVIDER
from .schema import TABLES, ensure_schema

WATERMARK_KEY = "mapping_seq"
_CHUNK = 400
_OWNED = ("subscriptions", "invoices", "credit_notes", "transactions")        # raw tables with customer_id
_CATALOG = ("coupons", "item_prices", "items", "item_families", "plans", "addons")
_LOOKED_UP = ("coupons", "item_prices", "plans", "addons")   # what a customer's rows read by id (map_customer)
_REFERRING = ("subscriptions", "invoices", "credit_notes")    # the raw rows that name them
TARGETED_REMAP_LIMIT = 25
_PER_CUSTOMER_TABLES = [name for name, table in TABLES.items() if table.per_customer]


def map_changes(store: Store) -> set[str]:
    """Map raw rows changed since the last mapping; the customer ids whose neutral rows changed."""
    ensure_schema(store)
    with store.db.atomic():
        return _Mapping(store, int(store.meta(WATERMARK_KEY, "0") or 0)).run()


def map_all(store: Store) -> set[str]:
    """Rebuild every Chargebee neutral row from the raw store; the customer ids whose rows changed."""
    ensure_schema(store)
    with store.db.atomic():
        return _Mapping(store, None).run()


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


def _fits(row: Mapping[str, Any]) -> bool:
    return all(not (isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_ABS_NUMBER) for v in row.values())


class _Mapping:
    def __init__(self, store: Store, since: int | None):
        self.store, self.since = store, since
        self._lookups: dict[str, dict[str, Mapping[str, Any]]] = {}

    # ---- raw reads --------------------------------------------------------
    def _objects(self, table: str, where: str = "1", params: Iterable[Any] = ()) -> Iterator[dict[str, Any]]:
        """Live objects of a raw table; one that cannot be mapped is quarantined, the rest go on."""
        for data, in self.store.db.execute(
                f"SELECT data FROM {quote(table)} WHERE _deleted = 0 AND {where}", list(params)):
            obj = jsontext.loads(data)
            problem = object_problem(obj, data)
            if problem is None:
                yield obj
            else:
                quarantine.record(self.store, [Rejected.of(table, obj, f"cannot be mapped: {problem}")])

    def _lookup(self, *tables: str) -> dict[str, Mapping[str, Any]]:
        key = ",".join(tables)
        if key not in self._lookups:
            self._lookups[key] = {o["id"]: o for t in tables for o in self._objects(t)}
        return self._lookups[key]

    def _changed(self, table: str, column: str) -> set[str]:
        return {v for (v,) in self.store.db.execute(
            f"SELECT {quote(column)} FROM {quote(table)} WHERE _seq > ?", [self.since]) if v}

    def _all(self, table: str, column: str) -> set[str]:
        return {v for (v,) in self.store.db.execute(f"SELECT DISTINCT {quote(column)} FROM {quote(table)}") if v}

    # ---- what to remap ----------------------------------------------------
    def catalog_changes(self) -> dict[str, set[str]]:
        """The catalog objects changed since the watermark, per table (every one on a first mapping)."""
        if self.since is None:
            return {table: self._all(table, "id") for table in _CATALOG}
        return {table: self._changed(table, "id") for table in _CATALOG}

    def referring_customers(self, object_ids: set[str]) -> set[str]:
        """Customers whose subscriptions, invoices or credit notes name one of ``object_ids`` (as a JSON string)."""
        customers: set[str] = set()
        needles = sorted(f'"{object_id}"' for object_id in object_ids)
        where = " OR ".join("instr(data, ?) > 0" for _ in needles)
        for table in _REFERRING:
            customers |= {c for (c,) in self.store.db.execute(
                f"SELECT DISTINCT customer_id FROM {quote(table)} WHERE {where}", needles) if c}
        return customers

    def affected_customers(self, everyone: bool) -> set[str]:
        if everyone:
            customers = self._all("customers", "id")
            for table in _OWNED:
                customers |= self._all(table, "customer_id")
            for table in _PER_CUSTOMER_TABLES:   # customers gone from the raw store lose their rows
                customers |= {c for (c,) in self.store.db.execute(
                    f"SELECT DISTINCT customer_id FROM {table} WHERE provider = ?", [PROVIDER]) if c}
            return customers
        customers = self._changed("customers", "id")
        for table in _OWNED:
            customers |= self._changed(table, "customer_id")
        return customers

    # ---- load, map, write ---------------------------------------------------
    def load(self, customer_ids: list[str]) -> dict[str, CustomerRaw]:
        raws = {cid: CustomerRaw(cid) for cid in customer_ids}
        marks = ", ".join("?" for _ in customer_ids)
        for obj in self._objects("customers", f"id IN ({marks})", customer_ids):
            raws[obj["id"]].customer = obj
        for table in _OWNED:
            for obj in self._objects(table, f"customer_id IN ({marks})", customer_ids):
                getattr(raws[obj["customer_id"]], table).append(obj)
        return raws

    def write_customers(self, customer_ids: list[str]) -> None:
        coupons = self._lookup("coupons")
        prices = self._lookup("item_prices", "plans", "addons")
        mapped: dict[str, dict[str, list]] = {}
        for cid, raw in self.load(customer_ids).items():
            try:
                rows = map_customer(raw, coupons.get, prices.get)
                tables = {**rows.tables, "billing_unclassified": rows.unclassified}
                if not all(_fits(row) for table_rows in tables.values() for row in table_rows):
                    raise ValueError("a number out of range")
            except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
                reason = f"cannot be mapped: {type(exc).__name__}: {exc}"
                quarantine.record(self.store, [Rejected.of("customers", raw.customer or {"id": cid}, reason)])
                continue   # its stored rows stay as they were
            mapped[cid] = tables
        # each mapped customer's rows rewritten as a unit, one batched write per table
        for name in _PER_CUSTOMER_TABLES:
            rows = [row for tables in mapped.values() for row in tables.get(name, [])]
            self.store.replace_scope(name, TABLES[name].primary_key, {"provider": PROVIDER, "customer_id": list(mapped)},
                                     rows)

    def write_plans(self) -> None:
        objects = {t: list(self._objects(t)) for t in ("item_prices", "items", "plans", "addons")}
        rows, flagged = [], []
        for stream in ("item_prices", "plans", "addons"):
            for price in objects[stream]:
                # one price at a time: a shape the mapping has never met quarantines that price only
                one = {**objects, "item_prices": [], "plans": [], "addons": [], stream: [price]}
                try:
                    price_rows, price_flags = plan_rows(one)
                    if not all(_fits(row) for row in price_rows):
                        raise ValueError("a number out of range")
                except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
                    reason = f"cannot be mapped: {type(exc).__name__}: {exc}"
                    quarantine.record(self.store, [Rejected.of(stream, price, reason)])
                    continue
                rows += price_rows
                flagged += price_flags
        table = TABLES["billing_plans"]
        self.store.replace_scope(table.name, table.primary_key, {"provider": PROVIDER}, rows)
        for row in flagged:
            row["customer_id"] = row.get("customer_id") or ""
        unclassified = TABLES["billing_unclassified"]
        self.store.replace_scope(unclassified.name, unclassified.primary_key,
                                 {"provider": PROVIDER, "customer_id": ""}, flagged)

    def changed_since(self, before: int, customers: set[str]) -> set[str]:
        changed: set[str] = set()
        for name in _PER_CUSTOMER_TABLES:
            for chunk in _chunks(customers):
                changed |= {c for (c,) in self.store.db.execute(
                    f"SELECT DISTINCT customer_id FROM {name} WHERE _seq > ? AND provider = ? "
                    f"AND customer_id IN ({', '.join('?' for _ in chunk)})", [before, PROVIDER, *chunk])}
        return changed

    def priced_by_changed_plans(self, before: int) -> set[str]:
        """Customers with items or lines on a price whose plan row changed after ``before``: their own
        rows may be the same, but the MRR segments built from them read the price (its tiers, its
        amount when an item carries none), so they must be rebuilt as a fresh store would build them."""
        customers: set[str] = set()
        for table in ("billing_subscription_items", "billing_invoice_lines"):
            customers |= {c for (c,) in self.store.db.execute(
                f"SELECT DISTINCT customer_id FROM {table} WHERE provider = ? AND _deleted = 0 AND plan_id IN "
                "(SELECT id FROM billing_plans WHERE provider = ? AND _seq > ?)", [PROVIDER, PROVIDER, before]) if c}
        return customers

    def run(self) -> set[str]:
        before = self.store.current_seq()
        catalog = self.catalog_changes()
        looked_up = set().union(*(catalog[table] for table in _LOOKED_UP))
        everyone = self.since is None or len(looked_up) > TARGETED_REMAP_LIMIT
        customers = self.affected_customers(everyone)
        if looked_up and not everyone:
            customers |= self.referring_customers(looked_up)
        if any(catalog.values()):
            self.write_plans()
        for chunk in _chunks(customers):
            self.write_customers(chunk)
        self.store.set_meta(WATERMARK_KEY, str(self.store.current_seq()))
        return self.changed_since(before, customers) | self.priced_by_changed_plans(before)
