"""The Chargebee mapping from the store: raw rows → neutral tables, incrementally.

``map_changes`` reads the raw rows whose ``_seq`` is above the mapping's
watermark (``_meta`` ``mapping_seq``, written in the same transaction as the
neutral rows) and rewrites each touched customer whole (``replace_scope``), as
the Stripe mapping does, so any sequence of incremental mappings ends with the
tables one ``map_all`` writes. A changed coupon, item price, item, plan or
addon can change any customer's rows (discount terms, prices of items and
lines): then every customer is remapped. The rows themselves come from the
pure functions of ``chargebee.py`` / ``chargebee_rows.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..store import quarantine
from ..store.quarantine import Rejected
from ..store import Store, quote
from ..values import MAX_ABS_NUMBER, loads_checked
from .chargebee import plan_rows
from .chargebee_rows import CustomerRaw, map_customer
from .chargebee_shapes import PROVIDER
from .schema import TABLES, ensure_schema

WATERMARK_KEY = "mapping_seq"
_CHUNK = 400
_OWNED = ("subscriptions", "invoices", "credit_notes", "transactions")        # raw tables with customer_id
_CATALOG = ("coupons", "item_prices", "items", "item_families", "plans", "addons")
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
            obj, problem = loads_checked(data)
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
    def catalog_changed(self) -> bool:
        return self.since is None or any(self._changed(table, "id") for table in _CATALOG)

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

    def run(self) -> set[str]:
        before = self.store.current_seq()
        everyone = self.catalog_changed()
        customers = self.affected_customers(everyone)
        if everyone:
            self.write_plans()
        for chunk in _chunks(customers):
            self.write_customers(chunk)
        self.store.set_meta(WATERMARK_KEY, str(self.store.current_seq()))
        return self.changed_since(before, customers)
