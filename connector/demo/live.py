"""Billing that runs as the demo account's clock moves, for what is made through the API.

The simulated three years (simulation.py) are fixed at build time; a rule test needs an account
made to order instead: prices, coupons, tax rates and subscriptions created through the API, then
the clock moved (``advance_clock``, ``POST /_demo/clock``) while Stripe's billing runs. Requests
take Stripe's parameters, form-encoded as the SDK sends them:

    POST /v1/prices                 currency, unit_amount, recurring[interval|interval_count],
                                    product or product_data[name], tax_behavior
    POST /v1/coupons                percent_off or amount_off + currency, duration, duration_in_months
    POST /v1/tax_rates              percentage, inclusive, display_name;  GET /v1/tax_rates/{id}
    POST /v1/subscriptions          customer, items[i][price|quantity|tax_rates[]], default_tax_rates[],
                                    trial_end, discounts[0][coupon], billing_cycle_anchor, proration_behavior,
                                    cancel_at_period_end, default_payment_method
    POST /v1/subscriptions/{id}     items[0][price|quantity], proration_behavior, billing_cycle_anchor=now,
                                    cancel_at_period_end, metadata
    POST /v1/subscription_schedules from_subscription;  POST /v1/subscription_schedules/{id} phases[i][...]
    GET  /v1/subscription_schedules/{id}, and ``schedule`` expands on a subscription

Stripe's behaviour, as its documentation describes it:

* a trial bills $0 for the trial and the first period at ``trial_end``; a trial ending with
  ``cancel_at_period_end`` cancels instead;
* a ``billing_cycle_anchor`` in the future bills the span until it prorated (``proration: true``),
  or nothing with ``proration_behavior=none`` ("the initial period up to the first full invoice
  date for free"); ``billing_cycle_anchor=now``, or a price of another interval, restarts the
  billing period at the change and invoices the new period at once;
* a price or quantity change prorates the rest of the period onto the next invoice
  (``create_prorations``), on an invoice at once (``always_invoice``), or not at all (``none``);
* each period end renews with an invoice (pending prorations on it), or ends the subscription
  when ``cancel_at_period_end`` is set;
* a schedule phase takes effect at its ``start_date`` (items, prorated as its
  ``proration_behavior`` says); at the last phase's end the schedule is released;
* a payment fails when the subscription's ``default_payment_method`` is Stripe's test method
  ``pm_card_chargeCustomerFail``: the invoice stays open, the subscription is ``past_due`` from it
  and ``unpaid`` ``UNPAID_AFTER_DAYS`` later (the retries exhausted, Billing's "mark as unpaid").

Every step emits the events Stripe would, at its own moment.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction

from ..mrr.model import round_half_even
from .billing import invoice_totals, line_taxes
from .catalog import amount_for_quantity
from .events import changed_fields, snapshot_for
from .ids import DAY, add_months, random_id
from .invoicing import Invoicing
from .live_catalog import LiveCatalog, as_bool
from .live_schedules import LiveSchedules
from .listing import PositionalList, dumps
from .mutations import DemoRequestError, missing
from .simulation import CustomerRecords
from .subscription import SubscriptionState, build_subscription
from .unmodelled import stripe_object

UNPAID_AFTER_DAYS = 14
FAILING_PAYMENT_METHOD = "pm_card_chargeCustomerFail"
_PRORATIONS = ("create_prorations", "none", "always_invoice")
_LINES_MARKER = "__embedded_lines__"


@dataclass
class LiveTerms:
    """What Stripe's billing needs of a subscription made through the API, beyond its timeline."""

    done_until: int                                     # moments up to here are billed
    fails: bool = False
    pending: list = field(default_factory=list)        # proration lines for the next invoice
    discount: dict | None = None
    once_spent: bool = False
    failed_at: int | None = None                       # the oldest unpaid invoice's creation
    schedule_id: str | None = None


def _months_of(price: dict) -> int:
    recurring = price.get("recurring") or {}
    count = int(recurring.get("interval_count") or 1)
    if recurring.get("interval") == "month":
        return count
    if recurring.get("interval") == "year":
        return 12 * count
    raise DemoRequestError(400, "The demo bills monthly and yearly prices only.", param="items")


def _insert_sorted(timeline: list, at: int, value) -> None:
    """A timeline entry at ``at``, after those at the same moment (the timelines are replayed in order)."""
    timeline.insert(bisect_right([when for when, _ in timeline], at), (at, value))


class _Biller(Invoicing):
    """The simulation's invoicing, bound to one API-made subscription; what it records is collected."""

    def __init__(self, account, state: SubscriptionState):
        self.rng, self.catalog, self.currency, self.story = account._mutation_rng, account.catalog, state.currency, ""
        self.tax_rate_id = None
        self._charges_of: dict[str, list[str]] = {}
        customer = json.loads(account.indexes["customers"].payload[state.customer])
        customer["next_invoice_sequence"] = account.invoice_sequences.get(state.customer, 1)
        self.records = CustomerRecords(customer)
        self.happened: list[tuple] = []

    def record(self, event_type: str, at: int, kind: str, payload) -> None:
        self.happened.append((at, event_type, kind, payload))


class LiveBilling(LiveCatalog, LiveSchedules):
    """Mixed into DemoAccount: the API's catalog (live_catalog.py), subscriptions, schedules
    (live_schedules.py) and their billing as time passes."""

    def init_live_billing(self) -> None:
        self.live_terms: dict[str, LiveTerms] = {}
        self.tax_rates: dict[str, dict] = {}
        self.schedules: dict[str, dict] = {}
        self.invoice_sequences: dict[str, int] = {}

    # -- subscriptions -----------------------------------------------------------------------
    def create_subscription(self, params: dict) -> dict:
        with self.lock:
            now, rng = self.clock, self._mutation_rng
            customer_id = params.get("customer")
            if not customer_id or self.indexes["customers"].payload.get(customer_id) is None:
                raise missing("customer", str(customer_id), "customer")
            wanted = [entry for entry in params.get("items") or [] if entry]
            if not wanted:
                raise DemoRequestError(400, "Missing required param: items.", code="parameter_missing", param="items")
            prices = [self._price(entry.get("price")) for entry in wanted]
            if len({p["currency"] for p in prices}) != 1 or len({_months_of(p) for p in prices}) != 1:
                raise DemoRequestError(400, "All prices on a subscription must have the same currency and interval.",
                                       param="items")
            proration = params.get("proration_behavior", "create_prorations")
            trial_end = int(params["trial_end"]) if params.get("trial_end") else None
            anchor_param = int(params["billing_cycle_anchor"]) if params.get("billing_cycle_anchor") else None
            anchor = trial_end or anchor_param or now
            state = SubscriptionState(random_id("sub", rng), customer_id, prices[0]["currency"], now, anchor,
                                      _months_of(prices[0]))
            items = {}
            for entry, price in zip(wanted, prices):
                item_id = random_id("si", rng)
                items[item_id] = (price["id"], int(entry.get("quantity", 1)))
                state.item_ids.append(item_id)
                state.item_created[item_id] = now
                state.item_tax_rates[item_id] = [self.tax_rate(r) for r in entry.get("tax_rates") or []]
            state.default_tax_rates = [self.tax_rate(r) for r in params.get("default_tax_rates") or []]
            state.set_items(now, items)
            state.change(now, status="trialing" if trial_end else "active",
                         trial_start=now if trial_end else None, trial_end=trial_end)
            if params.get("default_payment_method") == FAILING_PAYMENT_METHOD:
                # Stripe's answer with payment_behavior=error_if_incomplete; set the failing method on an
                # existing subscription to make its renewals fail
                raise DemoRequestError(402, "Your card was declined.", code="card_declined", error_type="card_error")
            terms = LiveTerms(done_until=now)
            coupon_id = ((params.get("discounts") or [{}])[0] or {}).get("coupon")
            if coupon_id:
                terms.discount = self._discount(state, coupon_id, now)
            if as_bool(params.get("cancel_at_period_end", False)):
                state.change(now, cancel_at_period_end=True, cancel_at=state.period_at(now)[1], canceled_at=now)
            self.subscription_states[state.id] = state
            self.live_terms[state.id] = terms
            self._index_subscription(state)
            self._emit("customer.subscription.created", build_subscription(state, now, self.public_prices,
                                                                            self.public_plans))
            biller = _Biller(self, state)
            if trial_end:
                self._bill(biller, state, terms, now, "subscription_create", (now, trial_end), trial=True)
            elif anchor > now and proration != "none":
                full = add_months(anchor, -state.months)
                share = Fraction(anchor - now, anchor - full)
                specs = [{"price": self.catalog.price_by_id[p], "quantity": q, "item": i, "proration": True,
                          "amount": round_half_even(amount_for_quantity(self.catalog.price_by_id[p], q) * share),
                          "period": (now, anchor), "created": now, "description": "Remaining time until the anchor"}
                         for i, (p, q) in items.items()]
                self._bill(biller, state, terms, now, "subscription_create", (now, anchor), lines_only=specs)
            elif anchor <= now:
                self._bill(biller, state, terms, now, "subscription_create", state.period_at(now))
            self._flush(biller, state)
            return json.loads(self.indexes["subscriptions"].payload[state.id])

    def _discount(self, state: SubscriptionState, coupon_id: str, at: int) -> dict:
        coupon = next((c for c in self.catalog.coupons if c["id"] == coupon_id), None)
        if coupon is None:
            raise missing("coupon", coupon_id, "discounts")
        discount = stripe_object("discount", {
            "id": random_id("di", self._mutation_rng, 24), "object": "discount", "checkout_session": None,
            "customer": state.customer, "end": add_months(at, coupon["duration_in_months"])
            if coupon["duration"] == "repeating" else None, "invoice": None, "invoice_item": None,
            "promotion_code": None, "source": {"coupon": coupon, "type": "coupon"}, "start": at,
            "subscription": state.id, "subscription_item": None})
        self.discounts[discount["id"]] = discount
        state.change(at, discounts=[discount["id"]])
        return discount

    def update_live_subscription(self, state: SubscriptionState, params: dict) -> dict:
        """A price, quantity, anchor or cancellation change of an API-made subscription (see the module)."""
        now, terms = self.clock, self.live_terms[state.id]
        terms.done_until = max(terms.done_until, now)   # billing is due from here (a reset restarts the period)
        proration = params.get("proration_behavior", "create_prorations")
        if proration not in _PRORATIONS:
            raise DemoRequestError(400, f"Invalid proration_behavior: {proration}", param="proration_behavior")
        entry = (params.get("items") or [{}])[0] or {}
        if params.get("quantity") is not None:
            entry = {**entry, "quantity": params["quantity"]}
        before = build_subscription(state, now - 1, self.public_prices, self.public_plans)
        if entry.get("price") or entry.get("quantity") is not None:
            items = dict(state.items_at(now))
            main = entry.get("id") or state.item_ids[0]
            old_price, old_quantity = items[main]
            new_price = self._price(entry["price"]) if entry.get("price") else self.catalog.price_by_id[old_price]
            items[main] = (new_price["id"], int(entry.get("quantity", old_quantity)))
            reset = params.get("billing_cycle_anchor") == "now" or _months_of(new_price) != state.months
            if reset and proration == "always_invoice":
                proration = "create_prorations"    # the reset's own invoice carries the credit
            self._change_items(state, terms, now, items, proration)
            if reset:   # the new period is billed in full; only the old price's unused time is credited
                terms.pending = [line for line in terms.pending if line["amount"] < 0]
                self._reset_anchor(state, terms, now, _months_of(new_price))
        elif params.get("billing_cycle_anchor") == "now":
            self._reset_anchor(state, terms, now, state.months)
        if "cancel_at_period_end" in params:
            flag = as_bool(params["cancel_at_period_end"])
            state.change(now, cancel_at_period_end=flag, cancel_at=state.period_at(now)[1] if flag else None,
                         canceled_at=now if flag else None)
        if "metadata" in params:
            state.metadata = {**state.metadata, **(params["metadata"] or {})}
        if "default_payment_method" in params:
            terms.fails = params["default_payment_method"] == FAILING_PAYMENT_METHOD
        after = self._index_subscription(state)
        previous = changed_fields(before, after)
        if previous:
            self._emit("customer.subscription.updated", after, previous)
        return after

    def _change_items(self, state: SubscriptionState, terms: LiveTerms, at: int, items: dict, proration: str) -> None:
        """New items from ``at``, the rest of the period prorated as ``proration`` says."""
        old = state.items_at(at)
        _insert_sorted(state.phases, at, dict(items))
        if proration == "none" or state.fields_at(at)["status"] == "trialing":
            return
        start, end = state.period_at(at)
        share = Fraction(end - at, end - start)
        for item_id, (price_id, quantity) in items.items():
            if old.get(item_id) == (price_id, quantity):
                continue
            for sign, (p_id, qty), label in ((-1, old.get(item_id), "Unused time on"),
                                             (1, (price_id, quantity), "Remaining time on")):
                if p_id is None:
                    continue
                price = self.catalog.price_by_id[p_id]
                terms.pending.append({"price": price, "quantity": qty, "item": item_id, "proration": True,
                                      "amount": sign * round_half_even(amount_for_quantity(price, qty) * share),
                                      "period": (at, end), "created": at, "description": f"{label} {p_id}"})
        if proration == "always_invoice":
            biller = _Biller(self, state)
            self._bill(biller, state, terms, at, "subscription_update", (at, end), lines_only=terms.pending)
            terms.pending = []
            self._flush(biller, state)

    def _reset_anchor(self, state: SubscriptionState, terms: LiveTerms, at: int, months: int) -> None:
        """A new billing period from ``at``, invoiced at once."""
        state.anchors.append((at, at, months))
        biller = _Biller(self, state)
        self._bill(biller, state, terms, at, "subscription_update", state.period_at(at))
        self._flush(biller, state)

    # -- time passing -----------------------------------------------------------------------
    def run_billing(self, until: int) -> None:
        """Everything due up to ``until``, across subscriptions, in time order."""
        while True:
            due = [(moment, action, sub_id) for sub_id, terms in self.live_terms.items()
                   for moment, action in [self._next_moment(self.subscription_states[sub_id], terms)]
                   if moment is not None and moment <= until]
            if not due:
                return
            moment, action, sub_id = min(due)
            state, terms = self.subscription_states[sub_id], self.live_terms[sub_id]
            self._happen(state, terms, moment, action)
            terms.done_until = moment

    def _next_moment(self, state: SubscriptionState, terms: LiveTerms) -> tuple[int | None, str]:
        fields = state.fields_at(max(terms.done_until, self.clock))   # a cancellation made since counts
        if fields["status"] in ("canceled", "unpaid", "incomplete_expired"):
            return None, ""
        candidates = [(state.period_at(terms.done_until)[1], "period_end")]
        if fields["status"] == "past_due" and terms.failed_at is not None:
            candidates.append((terms.failed_at + UNPAID_AFTER_DAYS * DAY, "unpaid"))
        if terms.discount is not None and terms.discount["end"] is not None:
            candidates.append((terms.discount["end"], "discount_end"))
        schedule = self.schedules.get(terms.schedule_id) if terms.schedule_id else None
        if schedule is not None and schedule["status"] == "active":
            candidates += [(p["start_date"], f"phase:{n}") for n, p in enumerate(schedule["phases"])
                           if n > 0 and p["start_date"] > terms.done_until]
            candidates.append((schedule["phases"][-1]["end_date"], "release"))
        candidates = [c for c in candidates if c[0] > terms.done_until]
        return min(candidates) if candidates else (None, "")

    def _happen(self, state: SubscriptionState, terms: LiveTerms, at: int, action: str) -> None:
        before = build_subscription(state, at - 1, self.public_prices, self.public_plans)
        event = "customer.subscription.updated"
        if action == "period_end":
            fields = state.fields_at(at - 1)
            if fields["cancel_at_period_end"]:
                state.change(at, status="canceled", ended_at=at)
                event = "customer.subscription.deleted"
            else:
                if fields["status"] == "trialing":
                    state.change(at, status="active")
                biller = _Biller(self, state)
                self._bill(biller, state, terms, at, "subscription_cycle", state.period_at(at))
                self._flush(biller, state)
        elif action == "unpaid":
            state.change(at, status="unpaid")
        elif action == "discount_end":
            state.change(at, discounts=[])
            terms.discount = None
        elif action.startswith("phase:"):
            phase = self.schedules[terms.schedule_id]["phases"][int(action.split(":")[1])]
            items = {}
            for item_id, entry in zip(state.item_ids, phase["items"]):
                items[item_id] = (entry["price"], entry["quantity"])
            self._change_items(state, terms, at, items, phase["proration_behavior"])
        elif action == "release":
            schedule = self.schedules[terms.schedule_id]
            schedule["status"], schedule["released_at"] = "released", at
            terms.schedule_id = None
            state.change(at, schedule=None)
        after = build_subscription(state, at, self.public_prices, self.public_plans)
        self._index_subscription(state)
        previous = changed_fields(before, after)
        if previous or event.endswith("deleted"):
            self._emit(event, after, None if event.endswith("deleted") else previous, at=at)

    # -- invoices ---------------------------------------------------------------------------
    def _bill(self, biller: _Biller, state: SubscriptionState, terms: LiveTerms, at: int, reason: str,
              period: tuple[int, int], *, trial: bool = False, lines_only: list | None = None) -> None:
        """One invoice at ``at`` (the period's lines and pending prorations, or just ``lines_only``), taxed by
        the items' tax rates (else the subscription's defaults), then paid or failed."""
        discount = terms.discount if terms.discount is not None and not trial else None
        if discount is not None and discount["source"]["coupon"]["duration"] == "once":
            if terms.once_spent:
                discount = None
            terms.once_spent = True
        if lines_only is not None:
            invoice = biller.invoice(state, at, reason, period, prorations=lines_only, discount=discount)
            invoice_lines = biller.records.invoices[-1][1]
            kept = [line for line in invoice_lines if line["parent"]["subscription_item_details"]["proration"]]
            invoice_lines[:] = kept
        else:
            invoice = biller.invoice(state, at, reason, period, trial=trial, prorations=terms.pending,
                                     discount=discount)
            terms.pending = []
            invoice_lines = biller.records.invoices[-1][1]
        for line in invoice_lines:
            item_id = line["parent"]["subscription_item_details"]["subscription_item"]
            rates = state.item_tax_rates.get(item_id) or state.default_tax_rates
            if rates:
                rate = rates[0]
                line_taxes(line, rate["id"], round(rate["percentage"] * 100),
                           "inclusive" if rate["inclusive"] else "exclusive")
                line["taxes"][0]["taxability_reason"] = "not_available"
        invoice.update(invoice_totals(invoice_lines))
        invoice["lines"]["data"], invoice["lines"]["has_more"] = invoice_lines[:10], len(invoice_lines) > 10
        invoice["amount_due"] = invoice["amount_remaining"] = max(invoice["total"], 0)
        if invoice["total"] <= 0 or not terms.fails:
            charge = biller.charge(invoice, at, succeeded=True) if invoice["total"] > 0 else None
            biller.mark_paid(invoice, at)
            if charge is not None:
                biller.invoice_payment(invoice)
            return
        invoice["status"], invoice["attempt_count"], invoice["attempted"] = "open", 1, True
        biller.charge(invoice, at, succeeded=False)
        biller.record("invoice.payment_failed", at, "invoice", (invoice, "open"))
        biller.invoice_payment(invoice)
        if state.fields_at(at)["status"] != "past_due":
            state.change(at, status="past_due")
        terms.failed_at = terms.failed_at if terms.failed_at is not None else at

    def _flush(self, biller: _Biller, state: SubscriptionState) -> None:
        """What a biller made, served: invoices with their lines, items, charges, payments, and events."""
        records = biller.records
        self.invoice_sequences[state.customer] = records.customer["next_invoice_sequence"]
        for invoice, lines in records.invoices:
            self.line_lists[invoice["id"]] = PositionalList([dumps(line) for line in lines])
            self.indexes["invoices"].put(invoice["created"], invoice["id"],
                                         dumps({**invoice, "lines": _LINES_MARKER}),
                                         _attributes("invoices", invoice))
        for stream, objects in (("invoice_items", records.invoice_items), ("charges", records.charges),
                                ("invoice_payments", records.invoice_payments)):
            for obj in objects:
                self._store(stream, obj)
                if stream == "invoice_payments":
                    self.payment_ids.setdefault(obj["invoice"], []).append(obj["id"])
        for at, event_type, kind, payload in biller.happened:
            snapshot, previous = snapshot_for(kind, payload, at, event_type, self.public_prices, self.public_plans)
            self._emit(event_type, snapshot, previous, at=at)
        biller.happened.clear()
        records.invoices.clear()
        records.invoice_items.clear()
        records.charges.clear()
        records.invoice_payments.clear()


def _attributes(stream: str, obj: dict) -> tuple:
    from .account import attributes_of

    return attributes_of(stream, obj)
