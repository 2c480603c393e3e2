"""What the connector reads from Stripe: one entry per stream, pure data.

Nothing else names a Stripe object: the adapter (``stripe.py``), its error
classification and the sync read this table. Facts from Stripe's API reference
under the pinned version:

* lists come newest first on ``created`` (immutable), take ``created[gte]`` /
  ``created[lt]`` (so a stream is read as many creation slices in flight) and
  page by ``starting_after`` (the token is the last object's id);
* ``list_params``: what every list request of the stream adds (``status=all``
  for subscriptions, expansions the mapping needs; Stripe allows four levels,
  where a list's ``data.`` is one);
* ``children``: lists embedded in the parent (``items``, ``lines``,
  ``payments``), each with the endpoint that reads it in full when the
  embedded one is truncated (``has_more``);
* ``event_routes``: which events touch the stream. An event carries an object
  in ``data.object``; a route ``(kind, field)`` says: an object of that kind
  names one of this stream's objects in ``field``. Stripe keeps events 30 days;
  changes are applied by re-fetching each named object (payloads are frozen at
  their creation's API version and lack expansions);
* ``by_test_clock``: test mode leaves objects of test clocks out of the plain
  list; they are listed once per clock;
* ``permission``: what a restricted key needs, quoted in a 403's message;
* ``known_values``: the enum values the MRR rules know (a new one is stored
  and warned about once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..constants import (
    DEFAULT_CEILING_SHARE, EVENTS_RETENTION_SECONDS, STRIPE_LIVE_REQUESTS_PER_SECOND, STRIPE_TEST_REQUESTS_PER_SECOND,
)
from .base import INCREMENTAL_BY_EVENTS, Child

EVENTS_PATH = "/v1/events"
EVENTS_PERMISSION = "Events: Read"
TEST_CLOCKS_PATH = "/v1/test_helpers/test_clocks"
TEST_CLOCKS_PERMISSION = "Test clocks: Read"
__all__ = ["EVENTS_RETENTION_SECONDS", "STREAMS", "changed_objects", "default_rate", "event_time"]


def default_rate(livemode: bool) -> float:
    """Requests per second: a share of Stripe's documented read limit for the key's mode."""
    ceiling = STRIPE_LIVE_REQUESTS_PER_SECOND if livemode else STRIPE_TEST_REQUESTS_PER_SECOND
    return ceiling * DEFAULT_CEILING_SHARE

# The stream whose full read also stores the events Stripe still keeps, and which:
# the mapping dates price, quantity and status changes from them.
HISTORY_STREAM = "subscriptions"
HISTORY_EVENT_TYPES = ("customer.subscription.updated",)


def expand(*paths: str) -> dict[str, str]:
    """``expand[i]`` parameters, as the SDK encodes a list."""
    return {f"expand[{i}]": path for i, path in enumerate(paths)}


# `data.discounts.source.coupon` keeps a coupon's terms on its discount (a coupon deleted
# upstream is no longer listed, but its discounts still lower MRR); `items.data.discounts` /
# `lines.data.discounts` are as deep as item- and line-level discounts go (their coupons
# come as ids; the adapter re-reads such a child list). `payments`: since
# 2025-03-31.basil the only link from an invoice to the charge (and refunds) that paid it.
# `schedule`: a subscription's schedule phases, whose start dates date price changes.
SUBSCRIPTION_EXPAND = ("discounts", "discounts.source.coupon", "items.data.discounts", "schedule")
INVOICE_EXPAND = ("discounts", "discounts.source.coupon", "payments", "lines.data.discounts")
CHILD_EXPAND = ("data.discounts", "data.discounts.source.coupon")


def object_id_in_path(object_id: str) -> str:
    """An id as one path segment, percent-encoded as the Stripe SDK does (``sanitize_id``): an id the
    server handed us (``in_1/../../v1/account?x=``, a custom coupon id with a space) can never
    turn a request into one for another endpoint or add parameters. Stripe's own ids are unchanged."""
    return quote(object_id, safe="")


@dataclass(frozen=True)
class StripeChild(Child):
    """An embedded list, and where it is read in full: ``path`` (``{id}`` = the parent's id),
    with the parent named by ``parent_param`` when the path does not."""

    path: str = ""
    parent_param: str | None = None
    expand: tuple[str, ...] = ()
    # Its discounts' coupons can only be expanded by re-reading the child list itself.
    discounts_need_coupons: bool = False

    def list_request(self, parent_id: str) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {self.parent_param: parent_id} if self.parent_param else {}
        return self.path.format(id=object_id_in_path(parent_id)), {**params, **expand(*self.expand)}

    def named(self, children: list[dict[str, Any]], parent_id: str) -> list[dict[str, Any]]:
        """The children, each naming its parent (older API versions omit it on lines; the key needs it)."""
        column = self.parent_column
        return [c if c.get(column) else {**c, column: parent_id} for c in children]

    def embedded_in(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        """The children the parent embeds (all of them unless its list says ``has_more``)."""
        return self.named((parent.get(self.field) or {}).get("data") or [], parent["id"])


@dataclass(frozen=True)
class StripeStream:
    name: str
    path: str
    permission: str
    list_params: Mapping[str, Any] = field(default_factory=dict)
    detail_expand: tuple[str, ...] = ()      # so a re-fetched object matches a listed one
    children: tuple[StripeChild, ...] = ()
    event_routes: tuple[tuple[str, str], ...] = ()
    by_test_clock: bool = False
    known_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The object's creation time, what the list's ``created`` filter selects on: ``created``,
    # but an invoice item's is ``date`` (it has no ``created``; its list still filters by ``created``)
    creation_field: str = "created"

    # What the sync reads (providers.base.StreamSpec).
    incremental = INCREMENTAL_BY_EVENTS
    sliceable = True
    update_field = None
    tombstone_field = None   # deleted objects leave the lists; events say which
    first_read_window_seconds = None
    optional = False

    @property
    def child_lists(self) -> tuple[Child, ...]:
        return self.children

    @property
    def partitioned(self) -> bool:
        return self.by_test_clock


def _own(kind: str) -> tuple[str, str]:
    """The route of events carrying the stream's own objects."""
    return (kind, "id")


STREAMS: dict[str, StripeStream] = {
    s.name: s
    for s in [
        StripeStream("customers", "/v1/customers", "Customers: Read",
                     event_routes=(_own("customer"), ("discount", "customer")), by_test_clock=True),
        StripeStream("products", "/v1/products", "Products: Read", event_routes=(_own("product"),)),
        # `tiers` is only sent when expanded; tiered MRR needs it.
        StripeStream("prices", "/v1/prices", "Prices: Read", list_params=expand("data.tiers"),
                     detail_expand=("tiers",), event_routes=(_own("price"),)),
        StripeStream("plans", "/v1/plans", "Plans: Read", list_params=expand("data.tiers"),
                     detail_expand=("tiers",), event_routes=(_own("plan"),)),
        StripeStream("coupons", "/v1/coupons", "Coupons: Read", event_routes=(_own("coupon"),),
                     known_values={"duration": frozenset({"forever", "once", "repeating"})}),
        StripeStream("promotion_codes", "/v1/promotion_codes", "Promotion codes: Read",
                     event_routes=(_own("promotion_code"),)),
        StripeStream(
            "subscriptions", "/v1/subscriptions", "Subscriptions: Read",
            list_params={"status": "all", **expand(*(f"data.{p}" for p in SUBSCRIPTION_EXPAND))},
            detail_expand=SUBSCRIPTION_EXPAND,
            children=(StripeChild("subscription_items", "items", "subscription", path="/v1/subscription_items",
                                  parent_param="subscription", expand=CHILD_EXPAND, discounts_need_coupons=True),),
            # A discount lives on a subscription or a customer: re-read its owner.
            event_routes=(_own("subscription"), ("discount", "subscription")),
            by_test_clock=True,
            known_values={"status": frozenset({"incomplete", "incomplete_expired", "trialing", "active",
                                               "past_due", "canceled", "unpaid", "paused"})},
        ),
        StripeStream(
            "invoices", "/v1/invoices", "Invoices: Read",
            list_params=expand(*(f"data.{p}" for p in INVOICE_EXPAND)),
            detail_expand=INVOICE_EXPAND,
            children=(
                StripeChild("invoice_line_items", "lines", "invoice", path="/v1/invoices/{id}/lines",
                            expand=CHILD_EXPAND, discounts_need_coupons=True),
                StripeChild("invoice_payments", "payments", "invoice", path="/v1/invoice_payments",
                            parent_param="invoice"),
            ),
            # An invoice payment is kept with its invoice (a child table): re-read the invoice.
            event_routes=(_own("invoice"), ("invoice_payment", "invoice")),
            known_values={"status": frozenset({"draft", "open", "paid", "uncollectible", "void"})},
        ),
        StripeStream("invoice_items", "/v1/invoiceitems", "Invoices: Read", event_routes=(_own("invoiceitem"),),
                     creation_field="date"),
        StripeStream("credit_notes", "/v1/credit_notes", "Credit notes: Read", event_routes=(_own("credit_note"),)),
        StripeStream("charges", "/v1/charges", "Charges: Read",
                     # a refund changes its charge's amount_refunded
                     event_routes=(_own("charge"), ("refund", "charge")),
                     known_values={"status": frozenset({"succeeded", "pending", "failed"})}),
        StripeStream("refunds", "/v1/refunds", "Refunds: Read", event_routes=(_own("refund"),),
                     known_values={"status": frozenset({"pending", "requires_action", "succeeded", "failed",
                                                        "canceled"})}),
    ]
}

# What a restricted key needs for each thing read (shown when Stripe answers 403).
PERMISSIONS = {
    **{name: spec.permission for name, spec in STREAMS.items()},
    "events": EVENTS_PERMISSION, "test_clocks": TEST_CLOCKS_PERMISSION,
}


def _ref(value: Any) -> str | None:
    """An id, whether the field came expanded or plain; None for anything else."""
    value = value.get("id") if isinstance(value, Mapping) else value
    return value if isinstance(value, str) and value else None


def changed_objects(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(stream, id) pairs an event says changed, by the streams' ``event_routes``.

    No ``types[]`` filter is sent for events: Stripe caps it at 20 exact names
    and a fixed list would miss the next new event type for an object we keep;
    routing by the kind of object carried catches it.
    """
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping) or not isinstance(obj.get("object"), str):
        return []
    pairs = []
    for spec in STREAMS.values():
        for kind, id_field in spec.event_routes:
            if kind == obj["object"]:
                object_id = _ref(obj.get(id_field))
                if object_id:
                    pairs.append((spec.name, object_id))
    return pairs


def event_time(event: Mapping[str, Any]) -> int:
    """An event's time; one without a usable time sorts first and moves no cursor."""
    created = event.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0
