"""Changes the server (or a test, in Python) makes to the demo account.

Each mutation takes form parameters as the Stripe SDK sends them (already decoded
into nested dicts/lists), changes the object at the account clock, re-serialises
it so lists and detail show it at once, and emits the event(s) Stripe would:

* create customer -> ``customer.created``; update -> ``customer.updated`` (with
  ``previous_attributes``); delete -> ``customer.deleted`` and, for each live
  subscription, ``customer.subscription.deleted``;
* update subscription (``quantity`` or ``items[0][quantity]``, ``cancel_at_period_end``,
  ``metadata``) -> ``customer.subscription.updated``; cancel -> ``customer.subscription.deleted``;
* create refund (``charge``, optional ``amount``) -> ``refund.created`` and ``charge.refunded``;
* delete coupon -> ``coupon.deleted``.

Invalid requests raise ``DemoRequestError`` carrying Stripe's status and error body.
"""

from __future__ import annotations

import json

from .events import changed_fields
from .ids import random_id
from .listing import dumps
from .invoicing import apply_refund, refund_object


class DemoRequestError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 error_type: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": error_type, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def missing(kind: str, object_id: str, param: str = "id") -> DemoRequestError:
    return DemoRequestError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def _merge_metadata(current: dict, update) -> dict:
    if update == "" or update is None:
        return {} if update == "" else current
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)  # Stripe: an empty value unsets the key
        else:
            merged[key] = value
    return merged


def _as_bool(value) -> bool:
    return str(value).lower() == "true"


class AccountMutations:
    """Mixed into DemoAccount; every method holds the account lock."""

    def _load(self, stream: str, object_id: str, kind: str) -> dict:
        payload = self.indexes[stream].payload.get(object_id)
        if payload is None:
            raise missing(kind, object_id)
        return json.loads(payload)

    def _store(self, stream: str, obj: dict) -> None:
        from .account import attributes_of, created_of

        self.indexes[stream].put(created_of(obj), obj["id"], dumps(obj), attributes_of(stream, obj))

    def create_customer(self, params: dict) -> dict:
        with self.lock:
            customer = {
                "id": random_id("cus", self._mutation_rng), "object": "customer", "address": None, "balance": 0,
                "created": self.clock, "currency": None, "default_source": None, "delinquent": False,
                "description": params.get("description"), "discount": None, "email": params.get("email"),
                "invoice_prefix": "".join(self._mutation_rng.choice("0123456789ABCDEF") for _ in range(8)),
                "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                     "rendering_options": None},
                "livemode": False, "metadata": _merge_metadata({}, params.get("metadata") or {}),
                "name": params.get("name"), "next_invoice_sequence": 1, "phone": params.get("phone"),
                "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
            }
            self._store("customers", customer)
            self._emit("customer.created", customer)
            return customer

    def update_customer(self, customer_id: str, params: dict) -> dict:
        with self.lock:
            before = self._load("customers", customer_id, "customer")
            after = dict(before)
            for name in ("email", "name", "description", "phone"):
                if name in params:
                    after[name] = params[name] or None
            if "metadata" in params:
                after["metadata"] = _merge_metadata(before["metadata"], params["metadata"])
            previous = changed_fields(before, after)
            if previous:
                self._store("customers", after)
                self._emit("customer.updated", after, previous)
            return after

    def delete_customer(self, customer_id: str) -> dict:
        with self.lock:
            customer = self._load("customers", customer_id, "customer")
            for state in list(self.subscription_states.values()):
                if state.customer == customer_id and state.fields_at(self.clock)["status"] != "canceled":
                    self.cancel_subscription(state.id)
            self.indexes["customers"].remove(customer_id)
            stub = {"id": customer_id, "object": "customer", "deleted": True}
            self.deleted[customer_id] = stub
            self._emit("customer.deleted", customer)
            return stub

    def _state(self, subscription_id: str):
        state = self.subscription_states.get(subscription_id)
        if state is None:
            raise missing("subscription", subscription_id)
        return state

    def update_subscription(self, subscription_id: str, params: dict) -> dict:
        with self.lock:
            state = self._state(subscription_id)
            before = json.loads(self.indexes["subscriptions"].payload[subscription_id])
            if before["status"] in ("canceled", "incomplete_expired"):
                raise DemoRequestError(400, "A canceled subscription can only update its cancellation_details "
                                            "and metadata.")
            if subscription_id in self.live_terms:   # made through the API: Stripe's billing (live.py)
                return self.update_live_subscription(state, params)
            quantity = params.get("quantity")
            items_param = params.get("items")
            if quantity is None and isinstance(items_param, list) and items_param:
                quantity = items_param[0].get("quantity")
            if quantity is not None:
                items = dict(state.items_at(self.clock))
                main = state.item_ids[0]
                items[main] = (items[main][0], int(quantity))
                state.set_items(self.clock, items)
            if "cancel_at_period_end" in params:
                flag = _as_bool(params["cancel_at_period_end"])
                period_end = state.period_at(self.clock)[1]
                state.change(self.clock, cancel_at_period_end=flag, cancel_at=period_end if flag else None,
                             canceled_at=self.clock if flag else None)
            if "metadata" in params:
                state.metadata = _merge_metadata(state.metadata, params["metadata"])
            after = self._index_subscription(state)
            previous = changed_fields(before, after)
            if previous:
                self._emit("customer.subscription.updated", after, previous)
            return after

    def cancel_subscription(self, subscription_id: str) -> dict:
        with self.lock:
            state = self._state(subscription_id)
            if state.fields_at(self.clock)["status"] == "canceled":
                raise DemoRequestError(400, f"The subscription {subscription_id} has already been canceled.")
            state.change(self.clock, status="canceled", canceled_at=self.clock, ended_at=self.clock)
            subscription = self._index_subscription(state)
            self._emit("customer.subscription.deleted", subscription)
            return subscription

    def create_refund(self, params: dict) -> dict:
        with self.lock:
            charge_id = params.get("charge")
            if not charge_id:
                raise DemoRequestError(400, "One of the following params should be provided for this request: "
                                            "payment_intent or charge.", code="parameter_missing")
            charge = self._load("charges", charge_id, "charge")
            remaining = charge["amount"] - charge["amount_refunded"]
            amount = int(params.get("amount", remaining))
            if charge["status"] != "succeeded" or remaining <= 0:
                raise DemoRequestError(400, f"Charge {charge_id} has already been refunded.",
                                       code="charge_already_refunded")
            if amount <= 0 or amount > remaining:
                raise DemoRequestError(400, f"Refund amount ({amount}) is greater than unrefunded amount on "
                                            f"charge ({remaining})", code="amount_too_large", param="amount")
            refund = refund_object(self._mutation_rng, charge, amount, self.clock, params.get("reason"),
                                   _merge_metadata({}, params.get("metadata") or {}))
            previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
            apply_refund(charge, amount)
            self._store("refunds", refund)
            self._store("charges", charge)
            self._emit("refund.created", refund)
            self._emit("charge.refunded", charge, previous)
            return refund

    def delete_coupon(self, coupon_id: str) -> dict:
        with self.lock:
            coupon = self._load("coupons", coupon_id, "coupon")
            self.indexes["coupons"].remove(coupon_id)
            stub = {"id": coupon_id, "object": "coupon", "deleted": True}
            self.deleted[coupon_id] = stub
            self._emit("coupon.deleted", coupon)
            return stub
