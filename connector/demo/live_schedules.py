"""Subscription schedules made through the demo's API (``POST /v1/subscription_schedules``).

A schedule is made from a live subscription and its phases replaced by an update; the billing
(live.py) applies each phase at its ``start_date`` and releases the schedule after the last one.
``schedule_object`` shows it as Stripe's SubscriptionSchedule of the pinned version.
"""

from __future__ import annotations

from .events import changed_fields
from .ids import random_id
from .mutations import DemoRequestError, missing
from .subscription import SubscriptionState, build_subscription


class LiveSchedules:
    """Mixed into DemoAccount through LiveBilling: schedules of API-made subscriptions."""

    # -- schedules ---------------------------------------------------------------------------
    def create_subscription_schedule(self, params: dict) -> dict:
        with self.lock:
            subscription_id = params.get("from_subscription")
            state = self.subscription_states.get(subscription_id)
            if state is None or subscription_id not in self.live_terms:
                raise missing("subscription", str(subscription_id), "from_subscription")
            now = self.clock
            start, end = state.period_at(now)
            phase = [{"items": [{"price": p, "quantity": q} for p, q in state.items_at(now).values()],
                      "start_date": start, "end_date": end, "proration_behavior": "create_prorations"}]
            schedule = {"id": random_id("sub_sched", self._mutation_rng, 24), "customer": state.customer,
                        "subscription": state.id, "created": now, "phases": phase, "status": "active",
                        "released_at": None, "currency": state.currency}
            self.schedules[schedule["id"]] = schedule
            self.live_terms[state.id].schedule_id = schedule["id"]
            self._set_schedule(state, now, schedule["id"])
            return self.schedule_object(schedule["id"])

    def update_subscription_schedule(self, schedule_id: str, params: dict) -> dict:
        with self.lock:
            schedule = self.schedules.get(schedule_id)
            if schedule is None:
                raise missing("subscription_schedule", schedule_id)
            phases = []
            for index, phase in enumerate(params.get("phases") or []):
                start = int(phase.get("start_date") or (phases[-1]["end_date"] if phases else schedule["phases"][0]["start_date"]))
                if index == 0 and start != schedule["phases"][0]["start_date"]:
                    raise DemoRequestError(400, "You can not modify the start date of the current phase.",
                                           param="phases[0][start_date]")
                items = [{"price": self._price(i.get("price"))["id"], "quantity": int(i.get("quantity", 1))}
                         for i in phase.get("items") or []]
                phases.append({"items": items, "start_date": start, "end_date": int(phase["end_date"]),
                               "proration_behavior": phase.get("proration_behavior", "create_prorations")})
            if not phases:
                raise DemoRequestError(400, "Missing required param: phases.", param="phases")
            schedule["phases"] = phases
            return self.schedule_object(schedule_id)

    def _set_schedule(self, state: SubscriptionState, at: int, schedule_id: str | None) -> None:
        before = build_subscription(state, at - 1, self.public_prices, self.public_plans)
        state.change(at, schedule=schedule_id)
        after = build_subscription(state, at, self.public_prices, self.public_plans)
        self._index_subscription(state)
        self._emit("customer.subscription.updated", after, changed_fields(before, after), at=at)

    def schedule_object(self, schedule_id: str) -> dict:
        """The schedule as Stripe shows it (SubscriptionSchedule of the pinned version)."""
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            raise missing("subscription_schedule", schedule_id)
        clock = self.clock
        current = next(({"start_date": p["start_date"], "end_date": p["end_date"]} for p in schedule["phases"]
                        if p["start_date"] <= clock < p["end_date"]), None)
        no_tax = {"disabled_reason": None, "enabled": False, "liability": None}
        phases = [{
            "add_invoice_items": [], "application_fee_percent": None, "automatic_tax": no_tax,
            "billing_cycle_anchor": None, "billing_thresholds": None, "collection_method": None,
            "currency": schedule["currency"], "default_payment_method": None, "default_tax_rates": [],
            "description": None, "discounts": [], "end_date": p["end_date"], "invoice_settings": None,
            "items": [{"billing_thresholds": None, "discounts": [], "metadata": {}, "plan": i["price"],
                       "price": i["price"], "quantity": i["quantity"], "tax_rates": []} for i in p["items"]],
            "metadata": {}, "on_behalf_of": None, "proration_behavior": p["proration_behavior"],
            "start_date": p["start_date"], "transfer_data": None, "trial_end": None,
        } for p in schedule["phases"]]
        released = schedule["status"] == "released"
        return {
            "id": schedule_id, "object": "subscription_schedule", "application": None,
            "billing_mode": {"flexible": None, "type": "classic"},
            "canceled_at": None, "completed_at": None, "created": schedule["created"],
            "current_phase": None if released else current, "customer": schedule["customer"],
            "customer_account": None,
            "default_settings": {
                "application_fee_percent": None, "automatic_tax": no_tax, "billing_cycle_anchor": "automatic",
                "billing_thresholds": None, "collection_method": "charge_automatically",
                "default_payment_method": None, "description": None,
                "invoice_settings": {"account_tax_ids": None, "custom_fields": None, "days_until_due": None,
                                     "description": None, "footer": None, "issuer": {"type": "self"}},
                "on_behalf_of": None, "transfer_data": None},
            "end_behavior": "release", "livemode": False, "metadata": {}, "phases": phases,
            "released_at": schedule["released_at"],
            "released_subscription": schedule["subscription"] if released else None,
            "status": schedule["status"], "subscription": None if released else schedule["subscription"],
            "test_clock": None,
        }

