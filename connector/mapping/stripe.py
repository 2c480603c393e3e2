"""The Stripe mapping: raw store rows → neutral tables, incrementally.

``map_changes`` reads only raw rows whose ``_seq`` is above the mapping's own
watermark (``_meta`` key ``mapping_seq``, written in the same transaction as the
rows), widens them to everything that depends on them, and rewrites:

* ``billing_plans`` for every changed price, plan or product;
* every per-customer table, one whole customer at a time (``replace_scope``),
  for each customer touched by a changed customer, subscription, item, invoice,
  line, charge, refund or credit note, or carrying a changed coupon.

Rewriting whole customers is what makes any sequence of incremental mappings
end with the same tables as one ``map_all`` (the tests check it with
hypothesis). Both return the provider customer ids whose neutral data changed,
including customers whose items or lines use a price that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..store import jsontext
from ..store import quarantine
from ..store.quarantine import Rejected
from ..store import Store, quote
from ..store import first_load
from ..store.bulk import is_empty
from ..store.raw_stripe import EVENT_CUSTOMER, SUBSCRIPTION_EVENTS_WHERE, SUBSCRIPTION_UPDATED
from ..values import MAX_ABS_NUMBER, OutOfRange, checked_object, parsed_object
from .schema import TABLES, ensure_schema
from .stripe_plans import PROVIDER, plan_row
from .stripe_rows import CustomerRaw, map_customer

WATERMARK_KEY = "mapping_seq"
_CHUNK = 400                 # ids per IN (...) list
# Customers loaded, mapped and written at a time: their raw objects are parsed at once, so this
# bounds the mapping's memory (400 customers of a demo account held ~300 MB of parsed objects).
CUSTOMER_BATCH = 25
_PER_CUSTOMER_RAW = ("subscriptions", "invoices", "charges", "credit_notes", "invoice_items")
# (child table, its column naming the parent's id) of the raw tables above whose children have no customer column
_CHILDREN = {
    "subscriptions": (("subscription_items", "subscription"),),
    "invoices": (("invoice_line_items", "invoice"), ("invoice_payments", "invoice")),
    "charges": (("refunds", "charge"),),
}
_PER_CUSTOMER_TABLES = [name for name, table in TABLES.items() if table.per_customer]


def map_changes(store: Store) -> set[str]:
    """Map raw rows changed since the last mapping; returns the customer ids whose neutral data changed."""
    ensure_schema(store)
    with store.db.atomic():
        since = int(store.meta(WATERMARK_KEY, "0") or 0)
        return _Mapping(store, since).run()


def map_all(store: Store) -> set[str]:
    """Rebuild every neutral table from the raw store; returns the customer ids whose neutral data changed."""
    ensure_schema(store)
    with store.db.atomic():
        return _Mapping(store, None).run()


# The types of a neutral row's values that are not integers (every value is checked: keep it cheap).
_NOT_INTEGERS = frozenset({str, float, bool, type(None)})


def checked_row(row: Mapping[str, Any]) -> None:
    """Raise OutOfRange for a neutral row holding a number that sums or SQLite cannot carry."""
    for column, value in row.items():
        kind = type(value)
        if kind is int:
            if not -MAX_ABS_NUMBER <= value <= MAX_ABS_NUMBER:
                raise OutOfRange(f"{column} out of range: {value}")
        elif (kind not in _NOT_INTEGERS and isinstance(value, int) and not isinstance(value, bool)
              and abs(value) > MAX_ABS_NUMBER):
            raise OutOfRange(f"{column} out of range: {value}")


def _chunks(values: Iterable[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    values = sorted(set(values))
    for start in range(0, len(values), size):
        yield values[start:start + size]


class _Mapping:
    def __init__(self, store: Store, since: int | None):
        self.store = store
        self.since = since
        self._coupons: dict[str, Mapping[str, Any] | None] = {}
        self._prices: dict[str, Mapping[str, Any] | None] = {}
        self._owners: dict[str, dict[Any, list[int]]] = {}

    # ---- raw reads --------------------------------------------------------
    def _rows(self, table: str, column: str, values: Iterable[Any], live_only: bool = True) -> list[tuple]:
        """(id, column value, data, _deleted, _seq) of raw rows whose ``column`` is in ``values``; ``data``
        as UTF-8 bytes (what the parser reads: SQLite's text need not become a str first)."""
        found = []
        for chunk in _chunks(v for v in values if v is not None):
            sql = (f"SELECT id, {quote(column)}, CAST(data AS BLOB), _deleted, _seq FROM {quote(table)} "
                   f"WHERE {quote(column)} IN ({', '.join('?' for _ in chunk)})")
            if live_only:
                sql += " AND _deleted = 0"
            found += self.store.db.execute(sql, chunk).fetchall()
        return found

    def _charges_giving_money_back(self, customer_ids: Iterable[Any]) -> Iterator[tuple[Any, bytes, int]]:
        """(customer, data, _seq) of the customers' live charges that bring money back: with a live
        refund, or an ``amount_refunded`` that is not 0 (or not known). The mapping reads a charge
        for its refunds alone (``stripe_rows.money_back``); any other charge adds 0 to its invoice,
        and most charges are never refunded: they are not parsed (a quarter of a demo account's bytes).
        """
        refunded = self._rowids_by_owner("refunds", quote("charge"))
        for chunk in _chunks(v for v in customer_ids if v is not None):
            wanted = [rowid for rowid, charge_id, amount_refunded in self.store.db.execute(
                "SELECT rowid, id, amount_refunded FROM charges "
                f"WHERE customer IN ({', '.join('?' for _ in chunk)}) AND _deleted = 0", chunk)
                if amount_refunded != 0 or charge_id in refunded]
            # the texts of those alone (SQLite copies every text a query returns)
            for part in _chunks(wanted):
                yield from self.store.db.execute(
                    "SELECT customer, CAST(data AS BLOB), _seq FROM charges "
                    f"WHERE rowid IN ({', '.join('?' for _ in part)}) ORDER BY rowid", part)

    def _subscription_events(self, customer_ids: Iterable[Any]) -> Iterator[tuple[Any, bytes]]:
        """(customer, data) of the customers' live subscription-change events, in the order stored:
        through the events' index on their customer (raw migration 0008). The events
        table grows with every nightly sync; a scan of it per run made a run's cost the history's."""
        for chunk in _chunks(v for v in customer_ids if v is not None):
            yield from self.store.db.execute(
                f"SELECT {EVENT_CUSTOMER}, CAST(data AS BLOB) FROM events WHERE {SUBSCRIPTION_EVENTS_WHERE} "
                f"AND {EVENT_CUSTOMER} IN ({', '.join('?' for _ in chunk)}) AND _deleted = 0 ORDER BY rowid", chunk)

    def _rows_by_owner(self, table: str, owner: str, values: Iterable[Any]) -> list[tuple]:
        """(rowid, owner value, data, _seq) of live rows whose ``owner`` column is in ``values``, in
        rowid order.

        A batch of customers at a time, ``owner IN (...)`` would scan the table once per batch
        (a cost growing with the account squared); the rowids by owner are read in one scan per run
        (ids only), and each batch reads its rows by rowid.
        """
        by_owner = self._rowids_by_owner(table, owner)
        owner_of = {rowid: value for value in values for rowid in by_owner.get(value, ())}
        found = []
        for chunk in _chunks(owner_of):
            found += [(rowid, owner_of[rowid], data, seq) for rowid, data, seq in self.store.db.execute(
                f"SELECT rowid, CAST(data AS BLOB), _seq FROM {quote(table)} "
                f"WHERE rowid IN ({', '.join('?' for _ in chunk)}) "
                "ORDER BY rowid", chunk)]
        return found

    def _rowids_by_owner(self, table: str, owner: str) -> Mapping[Any, list[int]]:
        """The rowids of ``table``'s live rows by their ``owner`` value: one scan per run (ids only)."""
        if table not in self._owners:
            by_owner: dict[Any, list[int]] = {}
            for rowid, value in self.store.db.execute(
                    f"SELECT rowid, {owner} FROM {quote(table)} WHERE _deleted = 0"):
                if value is not None:
                    by_owner.setdefault(value, []).append(rowid)
            self._owners[table] = by_owner
        return self._owners[table]

    def _changed(self, table: str, column: str = "id") -> set[Any]:
        """Distinct ``column`` values of the raw rows changed since the watermark (deleted ones too)."""
        if self._every_row_changed(table):   # no filter: an index on the column answers without the rows
            return {v for (v,) in self.store.db.execute(f"SELECT DISTINCT {quote(column)} FROM {quote(table)}")}
        # `+column`: without it SQLite answers DISTINCT by walking the column's own index and reads
        # every row for its _seq (a nightly run on 20,000 customers: 13.6 s for the invoices alone,
        # 0.0 s through the _seq index)
        return {v for (v,) in self.store.db.execute(
            f"SELECT DISTINCT +{quote(column)} FROM {quote(table)} WHERE _seq > ?", [self.since])}

    def _every_row_changed(self, table: str) -> bool:
        """Whether every row of ``table`` changed since the watermark (after a first sync, every
        row did): filtering on ``_seq`` then visits each row through the ``_seq`` index, 50 times
        slower at 2,000 customers than reading the column's own index."""
        (lowest,) = self.store.db.execute(f"SELECT min(_seq) FROM {quote(table)}").fetchone()
        return lowest is None or lowest > self.since

    def _changed_or_owning(self, table: str, wanted: str, key: str, *changed: tuple[str, str]) -> set[Any]:
        """``_changed(table, wanted)`` and :meth:`_owners_of_changed`. When every row of ``table``
        changed, the owners are among the changed rows' own ``wanted`` and are not looked for."""
        found = self._changed(table, wanted)
        if not self._every_row_changed(table):
            found |= self._owners_of_changed(table, key, wanted, *changed)
        return found

    def _column_values(self, table: str, column: str) -> set[Any]:
        return {v for (v,) in self.store.db.execute(f"SELECT DISTINCT {quote(column)} FROM {quote(table)}") if v}

    def _object(self, table: str, data: bytes, seq: int | None = None) -> dict[str, Any] | None:
        """A stored object, or None (quarantined) when it holds a value no neutral row can.

        Stores written before objects were checked on the way in can hold one;
        skipping it keeps every other customer's mapping and MRR going. ``seq``: the
        ``_seq`` of a live row; a row this process's sync wrote from a checked object
        (``store.checked_seqs``) is only parsed.
        """
        found = self._objects(table, [(None, data, seq)])
        return found[0][1] if found else None

    def coupon(self, coupon_id: str) -> Mapping[str, Any] | None:
        """A coupon's terms, deleted upstream or not: a coupon's terms never change, and the
        discounts that carry a deleted coupon keep it."""
        if coupon_id not in self._coupons:
            rows = self._rows("coupons", "id", [coupon_id], live_only=False)
            self._coupons[coupon_id] = None
            if rows:
                _id, _key, data, deleted, seq = rows[0]
                # a soft delete stamps its own _seq on a text it did not write: that seq vouches for nothing
                self._coupons[coupon_id] = self._object("coupons", data, None if deleted else seq)
        return self._coupons[coupon_id]

    def price(self, price_id: str) -> Mapping[str, Any] | None:
        if price_id not in self._prices:
            table = "prices"
            rows = self._rows("prices", "id", [price_id])
            if not rows:
                table, rows = "plans", self._rows("plans", "id", [price_id])
            self._prices[price_id] = self._object(table, rows[0][2], rows[0][4]) if rows else None
        return self._prices[price_id]

    def product_name(self, product: Any) -> str | None:
        if isinstance(product, Mapping):
            return product.get("name")
        rows = self._rows("products", "id", [product]) if product else []
        return jsontext.loads(rows[0][2]).get("name") if rows else None

    # ---- what to remap ----------------------------------------------------
    def affected_plan_ids(self) -> set[str]:
        if self.since is None:
            return self._column_values("prices", "id") | self._column_values("plans", "id")
        ids: set[str] = set()
        for table in ("prices", "plans"):
            ids |= self._changed_or_owning(table, "id", "product", ("products", "id"))
        return ids

    def affected_customers(self) -> set[str]:
        if self.since is None:
            customers = self._column_values("customers", "id")
            for table in _PER_CUSTOMER_RAW:
                customers |= self._column_values(table, "customer")
            customers |= {c for (c,) in self.store.db.execute(
                f"SELECT DISTINCT {EVENT_CUSTOMER} FROM events WHERE type = ?", [SUBSCRIPTION_UPDATED]) if c}
            for table in _PER_CUSTOMER_TABLES:   # customers gone from the raw store lose their rows
                customers |= self._column_values(table, "customer_id")
            customers.discard("")
            return customers
        customers = self._changed("customers")
        for table in _PER_CUSTOMER_RAW:   # and the owners of their changed items, lines, payments, refunds
            customers |= {c for c in self._changed_or_owning(table, "customer", "id", *_CHILDREN.get(table, ())) if c}
        customers |= {c for (c,) in self.store.db.execute(
            # `+`: through the _seq range (see _changed), not the events' index on their customer
            f"SELECT DISTINCT +{EVENT_CUSTOMER} FROM events WHERE _seq > ? AND type = ?",
            [self.since, SUBSCRIPTION_UPDATED]) if c}
        customers |= self._owners_of_changed("billing_discounts", "coupon_id", "customer_id", ("coupons", "id"))
        customers.discard(None)
        customers.discard("")
        return customers

    def _owners_of_changed(self, table: str, key: str, wanted: str, *changed: tuple[str, str]) -> set[Any]:
        """Distinct ``wanted`` of the rows of ``table`` (deleted ones too) whose ``key`` is the
        ``column`` of a row of a ``(changed table, column)`` changed since the watermark: one
        query each, the keys stay in SQLite (after a first sync they are every row's)."""
        found: set[Any] = set()
        for changed_table, column in changed:
            found |= {v for (v,) in self.store.db.execute(
                f"SELECT DISTINCT {quote(wanted)} FROM {quote(table)} WHERE {quote(key)} IN "
                f"(SELECT {quote(column)} FROM {quote(changed_table)} WHERE _seq > ?)", [self.since])}
        return found

    def customers_using_plans(self, plan_ids: set[str]) -> set[str]:
        users: set[str] = set()
        for table in ("billing_subscription_items", "billing_invoice_lines"):
            for chunk in _chunks(plan_ids):
                users |= {c for (c,) in self.store.db.execute(
                    f"SELECT DISTINCT customer_id FROM {table} WHERE _deleted = 0 "
                    f"AND plan_id IN ({', '.join('?' for _ in chunk)})", chunk)}
        return users

    # ---- load and write ---------------------------------------------------
    def _objects(self, table: str, rows: Iterable[tuple[Any, bytes, int | None]]) -> list[tuple[Any, dict]]:
        """(key, object) of each ``(key, data, _seq)`` of live rows that can be mapped, in order: :meth:`_object`
        of each (the others quarantined), with the test of ``store.checked_seqs`` done here for the one span
        a sync notes (the mapping parses every stored object: a call less per object is worth it)."""
        spans = self.store.checked_seqs.spans()
        first, last = spans[0] if len(spans) == 1 else (1, 0)
        checked = self.store.checked_seqs
        found = []
        for key, data, seq in rows:
            if type(seq) is int and first <= seq <= last or len(spans) > 1 and seq in checked:
                obj, problem = checked_object(data)
            else:
                obj, problem = parsed_object(data)
            if problem is None:
                found.append((key, obj))
            else:
                quarantine.record(self.store, [Rejected.of(table, obj, f"cannot be mapped: {problem}")])
        return found

    def load(self, customer_ids: list[str]) -> dict[str, CustomerRaw]:
        bundles = {cid: CustomerRaw(cid) for cid in customer_ids}

        def objects(table: str, column: str, values: Iterable[Any]) -> list[tuple[Any, dict]]:
            return self._objects(table, ((key, data, seq) for _id, key, data, _deleted, seq
                                         in self._rows(table, column, values)))

        for cid, obj in objects("customers", "id", customer_ids):
            bundles[cid].customer = obj
        sub_owner = {}
        for cid, obj in objects("subscriptions", "customer", customer_ids):
            bundles[cid].subscriptions.append(obj)
            sub_owner[obj["id"]] = cid
        for sub_id, obj in objects("subscription_items", "subscription", sub_owner):
            bundles[sub_owner[sub_id]].subscription_items.setdefault(sub_id, []).append(obj)
        invoice_owner = {}
        for cid, obj in objects("invoices", "customer", customer_ids):
            bundles[cid].invoices.append(obj)
            invoice_owner[obj["id"]] = cid
        for invoice_id, obj in objects("invoice_line_items", "invoice", invoice_owner):
            bundles[invoice_owner[invoice_id]].invoice_lines.setdefault(invoice_id, []).append(obj)
        charge_owner = {}
        for cid, obj in self._objects("charges", self._charges_giving_money_back(customer_ids)):
            bundles[cid].charges.append(obj)
            charge_owner[obj["id"]] = cid
        for charge_id, obj in self._objects("refunds", ((charge_id, data, seq) for _rowid, charge_id, data, seq
                                                        in self._rows_by_owner("refunds", quote("charge"), charge_owner))):
            bundles[charge_owner[charge_id]].refunds.setdefault(charge_id, []).append(obj)
        # an invoice's payments only tie a refunded charge to its invoice (stripe_rows.money_back)
        paying = set(charge_owner.values())
        for invoice_id, obj in objects("invoice_payments", "invoice",
                                       (i for i, cid in invoice_owner.items() if cid in paying)):
            bundles[invoice_owner[invoice_id]].invoice_payments.setdefault(invoice_id, []).append(obj)
        for cid, obj in objects("credit_notes", "customer", customer_ids):
            bundles[cid].credit_notes.append(obj)
        for cid, data in self._subscription_events(customer_ids):
            bundles[cid].subscription_events.append(jsontext.loads(data))
        return bundles

    def write_customers(self, mapped: Mapping[str, Any], fresh: bool = False) -> set[str]:
        """Make each customer's rows, in every per-customer table, exactly its mapped rows (the store's
        ``replace_customers``: one batched write per table; rows no longer produced are soft-deleted).
        Returns the customers with a row written or deleted. ``fresh``: the per-customer tables held no
        live row when the mapping began (a first sync): every row given is new.
        """
        ids = sorted(mapped)
        changed: set[str] = set()
        for name in _PER_CUSTOMER_TABLES:
            by_customer = {cid: mapped[cid].unclassified if name == "billing_unclassified" else mapped[cid].tables[name]
                           for cid in ids}
            changed |= self.store.replace_customers(name, TABLES[name].primary_key, PROVIDER, by_customer, fresh=fresh)
        return changed

    def write_plans(self, plan_ids: set[str], embedded: Mapping[str, Mapping[str, Any]]) -> set[str]:
        """Rewrite the given plans (and embedded-only ones); returns the ids whose rows changed."""
        rows, flags = {}, []
        for plan_id in sorted(plan_ids | set(embedded)):
            source = self.price(plan_id) or embedded.get(plan_id)
            if source is None:
                continue
            try:
                row, problems = plan_row(source, self.product_name(source.get("product")))
                checked_row(row)
            except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
                reason = f"cannot be mapped: {type(exc).__name__}: {exc}"
                quarantine.record(self.store, [Rejected.of("prices", source, reason)])
                continue
            rows[plan_id] = row
            flags += problems
        table = TABLES["billing_plans"]
        before = self._plan_snapshot(plan_ids | set(embedded))
        if self.since is None:
            self.store.replace_scope(table.name, table.primary_key, {"provider": PROVIDER}, list(rows.values()))
            self.store.replace_scope("billing_unclassified", TABLES["billing_unclassified"].primary_key,
                                     {"provider": PROVIDER, "customer_id": "", "object_type": "price"}, flags)
        else:
            gone = [{**self._plan_row_stored(p), "_deleted": 1} for p in plan_ids - set(rows) if self._plan_row_stored(p)]
            self.store.upsert_rows(table.name, table.primary_key, [*rows.values(), *gone])
            for plan_id in plan_ids | set(rows):
                self.store.replace_scope(
                    "billing_unclassified", TABLES["billing_unclassified"].primary_key,
                    {"provider": PROVIDER, "object_type": "price", "id": plan_id},
                    [f for f in flags if f["id"] == plan_id])
        after = self._plan_snapshot(plan_ids | set(embedded))
        return {p for p in after.keys() | before.keys() if after.get(p) != before.get(p)}

    def _plan_row_stored(self, plan_id: str) -> dict | None:
        cursor = self.store.db.execute("SELECT * FROM billing_plans WHERE provider = ? AND id = ?", [PROVIDER, plan_id])
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
        if row is None:
            return None
        return {k: v for k, v in zip(names, row) if k not in ("_synced_at", "_seq", "_deleted")}

    def _plan_snapshot(self, plan_ids: set[str]) -> dict[str, tuple]:
        snapshot = {}
        for chunk in _chunks(plan_ids):
            for row in self.store.db.execute(
                f"SELECT id, _seq, _deleted FROM billing_plans WHERE provider = ? "
                f"AND id IN ({', '.join('?' for _ in chunk)})", [PROVIDER, *chunk]):
                snapshot[row[0]] = row[1:]
        return snapshot

    def _map_one(self, raw):
        """A customer's rows, or None (quarantined, its earlier rows kept) when a value cannot be mapped.

        The objects were checked on the way in; this catches a shape the mapping
        has never met (a string where a number belongs, say) for one customer only.
        """
        try:
            rows = map_customer(raw, self.coupon, self.price)
            for table_rows in [*rows.tables.values(), rows.unclassified]:
                for row in table_rows:
                    checked_row(row)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            reason = f"cannot be mapped: {type(exc).__name__}: {exc}"
            quarantine.record(self.store, [Rejected.of("customers", raw.customer or {"id": raw.customer_id}, reason)])
            return None
        return rows

    def run(self) -> set[str]:
        plan_ids = self.affected_plan_ids()
        customers = self.affected_customers()
        changed: set[str] = set()
        embedded: dict[str, Mapping[str, Any]] = {}
        fresh = all(is_empty(self.store.db, name) for name in _PER_CUSTOMER_TABLES)
        with first_load.deferred(self.store, _PER_CUSTOMER_TABLES, fresh):
            for chunk in _chunks(customers, CUSTOMER_BATCH):
                mapped = {}
                raws = self.load(chunk)
                for cid in chunk:
                    rows = self._map_one(raws.pop(cid))   # each customer's parsed objects go once mapped
                    if rows is not None:
                        mapped[cid] = rows
                for rows in mapped.values():
                    for price_id, price in rows.embedded_prices.items():
                        if self.price(price_id) is None:
                            embedded.setdefault(price_id, price)
                changed |= self.write_customers(mapped, fresh)
        changed_plans = self.write_plans(plan_ids, embedded)
        changed |= self.customers_using_plans(changed_plans)
        self.store.set_meta(WATERMARK_KEY, str(self.store.current_seq()))
        return changed
