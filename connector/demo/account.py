"""The bundled demo Stripe account: deterministic, seeded, scaled, anchored at ``now``.

``DemoAccount(seed=1, customers=300, now=None, shape=None)`` simulates about three years
(1095 days) of a SaaS business ending at ``now`` (default: today 00:00 UTC, so a day's runs
agree; ``shape``: another kind of business, ``shapes.py``) and holds every object as Stripe's API version
2026-10-28.endive shapes it, pre-serialised to JSON for the server.
``objects(stream)`` gives the plain dicts a full list of that stream returns
(newest first; subscriptions include canceled ones, as with ``status=all``;
``invoice_line_items`` and ``subscription_items`` are every invoice's lines and
every subscription's items), so tests can compare a synced store with the account.

Objects are built as of ``now``; the account does not age by itself. The server
clock (``clock``: the wall clock unless ``now`` was given, moved by
``advance_clock``) only timestamps mutations and their events. See ``simulation.py`` for the storylines and ``billing.py`` for the money.

Shapes worth knowing: as in this API version, a charge does not name its invoice;
a refund reaches an invoice through the credit note that carries it
(``credit_note.invoice`` and ``credit_note.refunds[].refund``), and every full
refund has one. Tiered prices show ``tiers`` only when expanded.

Scale: customers are simulated in chunks of 1000 by ``workers`` forked processes
(default: one per CPU, at most 4); 20,000 customers take about 59 CPU-seconds in
all and 1.96 GB resident once built.
"""

from __future__ import annotations

import ctypes
import gc
import json
import multiprocessing
import os
import random
import threading
import time
from dataclasses import dataclass, field

from .billing import EMBEDDED_LIST_LIMIT
from .catalog import build_catalog, plan_from_price
from .events import build_events, event_object
from .ids import DAY, ordered_id, today_midnight_utc
from .listing import PositionalList, StreamIndex, dumps, list_body, payload_id
from .live import LiveBilling
from .mutations import AccountMutations
from .shapes import DEFAULT_SHAPE, AccountShape, shape_named
from .simulation import CustomerSimulation
from .subscription import build_items, build_subscription

STREAMS = (
    "customers", "products", "prices", "plans", "coupons", "promotion_codes", "subscriptions",
    "subscription_items", "invoices", "invoice_line_items", "invoice_payments", "invoice_items", "credit_notes",
    "charges", "refunds", "events",
)
INDEXED_STREAMS = tuple(s for s in STREAMS if s not in ("subscription_items", "invoice_line_items"))
CHUNK_CUSTOMERS = 1000  # unit of work for the forked simulation workers
CUSTOMER_STREAMS = ("customers", "subscriptions", "invoices", "invoice_payments", "invoice_items", "charges", "refunds",
                    "credit_notes")
LINES_MARKER = "__embedded_lines__"
_LINES_MARKER_JSON = b'"__embedded_lines__"'

# Query parameters each list accepts as an equality filter (Stripe's documented ones).
FILTER_FIELDS = {
    "customers": ("email", "test_clock"), "products": ("active",), "prices": ("product", "active", "currency", "type"),
    "plans": ("product", "active"), "coupons": (), "promotion_codes": ("code", "coupon", "active"),
    "subscriptions": ("customer", "status", "test_clock"), "invoices": ("customer", "status", "subscription"),
    "invoice_items": ("customer", "invoice"), "credit_notes": ("customer", "invoice"),
    "invoice_payments": ("invoice", "status"),
    "charges": ("customer", "payment_intent"), "refunds": ("charge", "payment_intent"), "events": ("type",),
}


def attributes_of(stream: str, obj: dict) -> tuple:
    """The filterable fields of an object (FILTER_FIELDS order), as a query string carries them."""
    values = []
    for name in FILTER_FIELDS.get(stream, ()):
        if name == "subscription":
            value = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        elif name == "coupon":
            value = obj["promotion"]["coupon"]
        else:
            value = obj.get(name)
        values.append(("true" if value else "false") if isinstance(value, bool) else value)
    return tuple(values)


def _release_free_heap() -> None:
    """Hand the build's freed temporaries back to the OS (glibc keeps them otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return  # not glibc: the memory stays reserved but reusable, nothing breaks


def created_of(obj: dict) -> int:
    return obj["created"] if "created" in obj else obj["date"]


def public_catalog(catalog) -> tuple[dict, dict]:
    """Prices and plans as served (``tiers`` only on expansion), by id."""
    prices = {p["id"]: {k: v for k, v in p.items() if k != "_tiers"} for p in catalog.prices}
    plans = {p["id"]: {k: v for k, v in plan_from_price(p).items() if k != "_tiers"}
             for p in catalog.prices if p["type"] == "recurring"}
    return prices, plans


def serialise_subscription(state, at: int, prices: dict, plans: dict) -> tuple[dict, list[tuple[str, bytes]]]:
    subscription = build_subscription(state, at, prices, plans)
    items = build_items(state, at, prices, plans)
    return subscription, [(item["id"], dumps(item)) for item in items]


@dataclass
class SimulatedChunk:
    """What a range of customers adds to the account, ready to index."""

    entries: dict = field(default_factory=lambda: {s: [] for s in CUSTOMER_STREAMS})
    line_lists: dict = field(default_factory=dict)
    item_lists: dict = field(default_factory=dict)
    item_payload: dict = field(default_factory=dict)
    payment_ids: dict = field(default_factory=dict)
    states: list = field(default_factory=list)
    deleted: dict = field(default_factory=dict)
    discounts: dict = field(default_factory=dict)
    redemptions: dict = field(default_factory=dict)
    history: list = field(default_factory=list)


def simulate_customers(seed: int, now: int, first: int, last: int,
                       shape: AccountShape = DEFAULT_SHAPE) -> SimulatedChunk:
    """Simulate customers ``first..last-1`` and serialise everything they own."""
    start = now - shape.history_seconds
    catalog = build_catalog(seed, start, now, shape)
    prices, plans = public_catalog(catalog)
    chunk = SimulatedChunk()

    def add(stream, obj, payload=None):
        chunk.entries[stream].append((created_of(obj), obj["id"], payload or dumps(obj), attributes_of(stream, obj)))

    for index in range(first, last):
        records = CustomerSimulation(index, seed, catalog, start, now, shape).run()
        chunk.history.extend(records.history)
        customer = records.customer
        if records.deleted_at is None:
            add("customers", customer)
        else:
            chunk.deleted[customer["id"]] = {"id": customer["id"], "object": "customer", "deleted": True}
        for state in records.subscriptions:
            subscription, items = serialise_subscription(state, now, prices, plans)
            add("subscriptions", subscription)
            chunk.item_lists[state.id] = PositionalList([payload for _, payload in items])
            chunk.item_payload.update(items)
            chunk.states.append(state)
        for invoice, lines in records.invoices:
            # the embedded lines are spliced in when served (render), not stored twice
            add("invoices", invoice, dumps({**invoice, "lines": LINES_MARKER}))
            chunk.line_lists[invoice["id"]] = PositionalList([dumps(line) for line in lines])
        for payment in records.invoice_payments:
            chunk.payment_ids.setdefault(payment["invoice"], []).append(payment["id"])
        for stream, objects in (("invoice_items", records.invoice_items), ("charges", records.charges),
                                ("invoice_payments", records.invoice_payments),
                                ("refunds", records.refunds), ("credit_notes", records.credit_notes)):
            for obj in objects:
                add(stream, obj)
        for discount in records.discounts.values():
            coupon_id = discount["source"]["coupon"]["id"]
            chunk.redemptions[coupon_id] = chunk.redemptions.get(coupon_id, 0) + 1
        chunk.discounts.update(records.discounts)
    return chunk


def _simulate_range(arguments: tuple) -> SimulatedChunk:
    gc.disable()  # a forked worker: same reason as the build itself
    return simulate_customers(*arguments)


class DemoAccount(AccountMutations, LiveBilling):
    def __init__(self, seed: int = 1, customers: int = 300, now: int | None = None, workers: int | None = None,
                 shape: str | AccountShape | None = None):
        self.seed, self.customer_count, self.workers = seed, customers, workers
        self.shape = shape_named(shape)
        self.now = int(now) if now is not None else today_midnight_utc()
        # Without a fixed `now`, mutations happen at the wall clock, as on Stripe: a
        # sync (which stays 60 s behind real time) must see their events. A fixed
        # `now` keeps the clock deterministic for tests; advance_clock moves either.
        self._follows_wall_clock = now is None
        self._clock_offset = 0
        self.lock = threading.RLock()
        self.account_id = "acct_demo" + "".join(random.Random(f"account/{seed}").choice("0123456789ABCDEFGHJK")
                                                for _ in range(7))
        self.indexes = {stream: StreamIndex() for stream in INDEXED_STREAMS}
        self.deleted: dict[str, dict] = {}
        self.item_lists: dict[str, PositionalList] = {}
        self.item_payload: dict[str, bytes] = {}
        self.payment_ids: dict[str, list[str]] = {}   # invoice id -> its invoice payments, oldest first
        self.line_lists: dict[str, PositionalList] = {}
        self.subscription_states = {}
        self.discounts: dict[str, dict] = {}
        self._mutation_rng = random.Random(f"mutations/{seed}")
        self.init_live_billing()
        # The build allocates millions of long-lived objects: cyclic GC passes over them
        # cost ~15 % of the build and later pause the server, so they are frozen once built.
        gc.disable()
        try:
            self._build()
        finally:
            gc.enable()
        gc.freeze()
        _release_free_heap()

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        start = self.now - self.shape.history_seconds
        catalog = build_catalog(self.seed, start, self.now, self.shape)
        self.catalog = catalog
        self.tiers = {p["id"]: p["_tiers"] for p in catalog.prices if "_tiers" in p}
        self.public_prices, self.public_plans = public_catalog(catalog)
        entries: dict[str, list] = {stream: [] for stream in INDEXED_STREAMS}

        def add(stream, obj):
            entries[stream].append((created_of(obj), obj["id"], dumps(obj), attributes_of(stream, obj)))

        history = self._catalog_history(catalog)
        redemptions: dict[str, int] = {}
        for chunk in self._simulated_chunks():
            for stream, rows in chunk.entries.items():
                entries[stream].extend(rows)
            self.line_lists.update(chunk.line_lists)
            self.item_lists.update(chunk.item_lists)
            self.item_payload.update(chunk.item_payload)
            self.payment_ids.update(chunk.payment_ids)
            self.subscription_states.update((state.id, state) for state in chunk.states)
            self.deleted.update(chunk.deleted)
            self.discounts.update(chunk.discounts)
            history.extend(chunk.history)
            for coupon_id, count in chunk.redemptions.items():
                redemptions[coupon_id] = redemptions.get(coupon_id, 0) + count
        for coupon in catalog.coupons:
            coupon["times_redeemed"] = redemptions.get(coupon["id"], 0)
            if coupon["id"] in catalog.deleted_coupon_ids:
                self.deleted[coupon["id"]] = {"id": coupon["id"], "object": "coupon", "deleted": True}
            else:
                add("coupons", coupon)
        for product in catalog.products:
            add("products", product)
        for price_id, price in self.public_prices.items():
            add("prices", price)
            if price_id in self.public_plans:
                add("plans", self.public_plans[price_id])
        for code in catalog.promotion_codes:
            add("promotion_codes", code)
        events = build_events(history, self.seed, self.public_prices, self.public_plans, self.now)
        for event in events:
            add("events", event)
        self._event_sequence = len(events)
        self._event_rng = random.Random(f"live-events/{self.seed}")
        for stream, stream_entries in entries.items():
            self.indexes[stream].bulk_load(stream_entries)

    def _simulated_chunks(self):
        """Customers' histories in order; big accounts are simulated by forked workers.

        Each customer depends only on (seed, index), so splitting the range changes nothing.
        """
        ranges = [(first, min(first + CHUNK_CUSTOMERS, self.customer_count))
                  for first in range(0, self.customer_count, CHUNK_CUSTOMERS)]
        workers = self.workers if self.workers is not None else min(os.cpu_count() or 1, 4)
        if workers <= 1 or len(ranges) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for first, last in ranges:
                yield simulate_customers(self.seed, self.now, first, last, self.shape)
            return
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_simulate_range, [(self.seed, self.now, first, last, self.shape)
                                                   for first, last in ranges])

    def _catalog_history(self, catalog) -> list[tuple]:
        """Catalog happenings inside the events window (the launch product, a retired coupon)."""
        history, window_start = [], self.now - 30 * DAY
        order = (-1, 0)

        def record(at, event_type, obj):
            nonlocal order
            if window_start <= at <= self.now:
                history.append((at, event_type, "object", obj, order))
                order = (-1, order[1] + 1)

        for product in catalog.products:
            record(product["created"], "product.created", product)
        for price in catalog.prices:
            record(price["created"], "price.created", self.public_prices[price["id"]])
            if price["id"] in self.public_plans:
                record(price["created"], "plan.created", self.public_plans[price["id"]])
        for coupon in catalog.coupons:
            record(coupon["created"], "coupon.created", coupon)
            if coupon["id"] in catalog.coupon_deleted_at:
                record(catalog.coupon_deleted_at[coupon["id"]], "coupon.deleted", coupon)
        for code in catalog.promotion_codes:
            record(code["created"], "promotion_code.created", code)
        return history

    def _index_subscription(self, state) -> dict:
        """Re-serialise a subscription and its items as of the account clock (after a mutation)."""
        subscription, items = serialise_subscription(state, max(self.now, self.clock),
                                                     self.public_prices, self.public_plans)
        self.item_lists[state.id] = PositionalList([payload for _, payload in items])
        self.item_payload.update(items)
        self.indexes["subscriptions"].put(state.created, state.id, dumps(subscription),
                                          attributes_of("subscriptions", subscription))
        return subscription

    # -- reading ----------------------------------------------------------------------------
    def objects(self, stream: str) -> list[dict]:
        """Every object a full list of ``stream`` returns, newest first, as plain dicts."""
        if stream not in STREAMS:
            raise KeyError(f"unknown stream {stream!r}; one of {', '.join(STREAMS)}")
        with self.lock:
            if stream == "invoice_line_items":
                return [json.loads(p) for invoice_id in self.indexes["invoices"].ids_newest_first()
                        for p in self.line_lists[invoice_id].payloads]
            if stream == "subscription_items":
                return [json.loads(p) for sub_id in self.indexes["subscriptions"].ids_newest_first()
                        for p in self.item_lists[sub_id].payloads]
            index = self.indexes[stream]
            return [json.loads(self.render(stream, index.payload[i])) for i in index.ids_newest_first()]

    def payload(self, stream: str, object_id: str) -> bytes | None:
        with self.lock:
            if stream == "subscription_items":
                return self.item_payload.get(object_id)
            payload = self.indexes[stream].payload.get(object_id)
            return self.render(stream, payload) if payload is not None else None

    def render(self, stream: str, payload: bytes) -> bytes:
        """The served bytes of a stored object: invoices get their first ten lines spliced in."""
        if stream != "invoices":
            return payload
        invoice_id = payload_id(payload)
        lines = self.line_lists[invoice_id].payloads
        embedded = list_body(lines[:EMBEDDED_LIST_LIMIT], len(lines) > EMBEDDED_LIST_LIMIT,
                             f"/v1/invoices/{invoice_id}/lines")
        return payload.replace(_LINES_MARKER_JSON, embedded, 1)

    @property
    def clock(self) -> int:
        """The account's time for mutations and their events (see __init__)."""
        base = max(self.now, int(time.time())) if self._follows_wall_clock else self.now
        return base + self._clock_offset

    def advance_clock(self, seconds: int) -> int:
        """Move the clock; what the API's subscriptions bill meanwhile happens at its moment (live.py)."""
        with self.lock:
            self._clock_offset += int(seconds)
            self.run_billing(self.clock)
            return self.clock

    def _emit(self, event_type: str, snapshot: dict, previous: dict | None = None, at: int | None = None) -> dict:
        """A live event at the account clock (or at ``at``, a moment the clock just passed), visible in
        /v1/events at once."""
        when = self.clock if at is None else at
        event_id = ordered_id("evt", self._event_sequence, self._event_rng)
        self._event_sequence += 1
        event = event_object(event_id, event_type, when, snapshot, previous)
        self.indexes["events"].put(when, event_id, dumps(event), attributes_of("events", event))
        return event
