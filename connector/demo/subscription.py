"""A demo subscription as a timeline, and the Stripe object it shows at any moment.

The simulation (and the server's mutations) append to two timelines: ``phases``
(which price and quantity each item has from a time on) and ``changes`` (status
fields from a time on). ``build_subscription(state, at)`` replays them up to ``at``,
so an event's ``data.object`` is the subscription exactly as it was then.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from .billing import embedded_list
from .ids import add_months
from .unmodelled import stripe_object

STATUS_FIELDS = (
    "status", "cancel_at", "cancel_at_period_end", "canceled_at", "ended_at", "discounts",
    "latest_invoice", "pause_collection", "trial_start", "trial_end", "schedule",
)


@dataclass
class SubscriptionState:
    id: str
    customer: str
    currency: str
    created: int
    anchor: int               # start of the first paid period (trial end, or creation)
    months: int               # period length in months
    test_clock: str | None = None
    item_ids: list[str] = field(default_factory=list)
    item_created: dict[str, int] = field(default_factory=dict)
    phases: list[tuple[int, dict[str, tuple[str, int]]]] = field(default_factory=list)
    changes: list[tuple[int, dict]] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    item_discounts: dict[str, list[str]] = field(default_factory=dict)   # item id -> discount ids (forever)
    # billing cycle resets (``billing_cycle_anchor=now``, a change of interval): (from, new anchor, months)
    anchors: list[tuple[int, int, int]] = field(default_factory=list)
    item_tax_rates: dict[str, list[dict]] = field(default_factory=dict)   # item id -> tax rate objects
    default_tax_rates: list[dict] = field(default_factory=list)

    def set_items(self, at: int, items: dict[str, tuple[str, int]]) -> None:
        self.phases.append((at, dict(items)))

    def change(self, at: int, **fields) -> None:
        self.changes.append((at, fields))

    def items_at(self, at: int) -> dict[str, tuple[str, int]]:
        index = bisect_right([t for t, _ in self.phases], at) - 1
        return self.phases[max(index, 0)][1]

    def fields_at(self, at: int) -> dict:
        fields = {name: None for name in STATUS_FIELDS}
        fields["cancel_at_period_end"] = False
        fields["discounts"] = []
        for when, changed in self.changes:
            if when > at:
                break
            fields.update(changed)
        return fields

    def anchor_at(self, at: int) -> tuple[int, int, int]:
        """(since, billing cycle anchor, months) in force at ``at``: the first, or the last reset before it."""
        since, anchor, months = self.created, self.anchor, self.months
        for when, new_anchor, new_months in self.anchors:
            if when <= at:
                since, anchor, months = when, new_anchor, new_months
        return since, anchor, months

    def period_at(self, at: int) -> tuple[int, int]:
        """The billing period containing ``at`` (the trial, or a free span, before the anchor)."""
        since, anchor, months = self.anchor_at(at)
        if at < anchor:
            return since, anchor
        k = max(0, (at - anchor) // (months * 31 * 86_400))
        while add_months(anchor, (k + 1) * months) <= at:
            k += 1
        return add_months(anchor, k * months), add_months(anchor, (k + 1) * months)


def build_subscription(state: SubscriptionState, at: int, prices: dict, plans: dict) -> dict:
    """The subscription object as Stripe would have returned it at ``at``."""
    fields = state.fields_at(at)
    items = build_items(state, at, prices, plans, fields)
    return stripe_object("subscription", {
        "id": state.id, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": state.anchor_at(at)[1],
        "billing_cycle_anchor_config": None, "billing_mode": {"flexible": None, "type": "classic"},
        "cancel_at": fields["cancel_at"], "cancel_at_period_end": fields["cancel_at_period_end"],
        "canceled_at": fields["canceled_at"],
        "cancellation_details": {"comment": None, "feedback": None,
                                 "reason": "cancellation_requested" if fields["canceled_at"] else None},
        "collection_method": "charge_automatically", "created": state.created,
        "currency": state.currency, "customer": state.customer, "days_until_due": None,
        "default_payment_method": None, "default_source": None, "default_tax_rates": list(state.default_tax_rates),
        "description": None, "discounts": list(fields["discounts"]), "ended_at": fields["ended_at"],
        "invoice_settings": stripe_object("subscription.invoice_settings",
                                          {"account_tax_ids": None, "issuer": {"type": "self"}}),
        "items": embedded_list(items, f"/v1/subscription_items?subscription={state.id}"),
        "latest_invoice": fields["latest_invoice"], "livemode": False, "metadata": dict(state.metadata),
        "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": fields["pause_collection"], "payment_settings": None,
        "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None,
        "schedule": fields["schedule"], "start_date": state.created, "status": fields["status"], "test_clock": state.test_clock,
        "transfer_data": None, "trial_end": fields["trial_end"], "trial_settings": None,
        "trial_start": fields["trial_start"],
    })


def build_items(state: SubscriptionState, at: int, prices: dict, plans: dict, fields: dict | None = None) -> list[dict]:
    """Every item of the subscription at ``at`` (the embedded list shows only ten)."""
    fields = fields or state.fields_at(at)
    moment = min(at, fields["ended_at"] - 1) if fields["ended_at"] else at
    period_start, period_end = state.period_at(moment)
    items = []
    for item_id, (price_id, quantity) in state.items_at(moment).items():
        items.append(stripe_object("subscription_item", {
            "id": item_id, "object": "subscription_item", "created": state.item_created[item_id],
            "current_period_end": period_end, "current_period_start": period_start,
            "discounts": list(state.item_discounts.get(item_id, [])), "metadata": {}, "plan": plans[price_id], "price": prices[price_id],
            "quantity": None if prices[price_id]["recurring"]["usage_type"] == "metered" else quantity,
            "subscription": state.id, "tax_rates": list(state.item_tax_rates.get(item_id, [])),
        }))
    return items
