"""One demo customer's three years: subscriptions, invoices, payments, refunds.

Each customer has its own ``random.Random(f"{seed}/{index}")`` so the account is
the same whatever the scale, and customer ``index % 20`` forces one storyline
(below) so every feature exists in any account of 20 customers or more. The rest
is drawn: plan, interval (month 70 %, quarter 10 %, year 20 %), trials, coupons,
setup fees, upgrades (mid-period, prorated onto the next invoice), downgrades and
quantity changes (at a period boundary), failed payments, churn (at once or at
period end) and reactivations.

Invoices: one per billing period, created at the period start (a $0 one at a
trial's start); metered usage is billed in arrears on the next invoice. A few
converted-trial customers have ``pause_collection`` (behavior ``void``) on their
current period, whose invoice is void. A failed
payment either recovers three days later, leaves the invoice open and the
subscription ``past_due`` (if recent), ``unpaid``, or ends the subscription with
the invoice ``uncollectible`` or ``void``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction

from ..mrr.model import round_half_even
from .catalog import Catalog, amount_for_quantity
from .ids import DAY, add_months, random_id
from .invoicing import Invoicing
from .shapes import DEFAULT_SHAPE, AccountShape
from .subscription import SubscriptionState
from .unmodelled import stripe_object

STORYLINES = [
    "many_items", "trialing", "trial_converted", "past_due", "unpaid", "cancel_at_period_end",
    "canceled_now", "reactivated", "coupon_forever", "coupon_repeating", "coupon_once",
    "coupon_amount_off", "upgrade", "downgrade", "quantity_change", "jpy", "eur",
    "refund_full", "refund_partial", "metered_tiered",
]
_TIER_UP = {"starter": "pro", "pro": "business"}
_TIER_DOWN = {"business": "pro", "pro": "starter"}
_NAMES = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger"]
_SURNAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie"]


@dataclass
class CustomerRecords:
    customer: dict
    deleted_at: int | None = None
    subscriptions: list[SubscriptionState] = field(default_factory=list)
    invoices: list[tuple[dict, list[dict]]] = field(default_factory=list)   # (invoice, all lines)
    invoice_items: list[dict] = field(default_factory=list)
    charges: list[dict] = field(default_factory=list)
    invoice_payments: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    credit_notes: list[dict] = field(default_factory=list)
    discounts: dict[str, dict] = field(default_factory=dict)
    # (time, event type, kind, payload) for the events feed; kinds: object, subscription, invoice, charge
    history: list[tuple] = field(default_factory=list)


class CustomerSimulation(Invoicing):
    def __init__(self, index: int, seed: int, catalog: Catalog, start: int, now: int,
                 shape: AccountShape = DEFAULT_SHAPE):
        self.rng = random.Random(f"{seed}/{index}")
        self.index, self.catalog, self.start, self.now, self.shape = index, catalog, start, now, shape
        storylines = shape.storylines or STORYLINES
        self.story = storylines[index % len(storylines)]
        self._charges_of: dict[str, list[str]] = {}   # invoice id -> its charges' ids
        rng = self.rng
        if self.story == "jpy":
            self.currency = "jpy"
        elif self.story == "eur":
            self.currency = "eur"
        elif self.story in ("coupon_amount_off", "many_items", "metered_tiered"):
            self.currency = "usd"
        else:
            self.currency = rng.choices(["usd", "eur", "jpy"], [70, 20, 10])[0]
        taxed = self.currency != "usd" or rng.random() < 0.5
        self.tax_rate_id = catalog.tax_rates[self.currency] if taxed else None
        if self.story == "trialing":
            created = now - rng.randint(1, 10) * DAY - rng.randint(0, DAY - 1)
        elif self.story in ("past_due", "cancel_at_period_end", "reactivated", "upgrade", "downgrade",
                            "canceled_now", "unpaid", "quantity_change", "refund_full", "refund_partial"):
            created = start + rng.randint(0, min(400 * DAY, now - start - 3 * DAY))   # a young account's too
        else:
            created = start + rng.randint(0, now - start - 3 * DAY)
        first, last = rng.choice(_NAMES), rng.choice(_SURNAMES)
        self.records = CustomerRecords(customer={
            "id": random_id("cus", rng), "object": "customer", "address": _address(self.currency, index), "balance": 0,
            "created": created, "currency": self.currency, "default_source": None, "delinquent": False,
            "description": None, "discount": None, "email": f"{first}.{last}.{index}@example.com".lower(),
            "invoice_prefix": "".join(rng.choice("0123456789ABCDEF") for _ in range(8)),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                 "rendering_options": None},
            "livemode": False, "metadata": {}, "name": f"{first} {last}", "next_invoice_sequence": 1,
            "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
            # one customer in 40 lives on the account's test clock: listed only with `test_clock=`
            "test_clock": catalog.test_clock["id"] if index % 40 == 14 else None,
        })
        self.record("customer.created", created, "object", self.records.customer)

    # -- helpers -------------------------------------------------------------------
    def record(self, event_type: str, at: int, kind: str, payload) -> None:
        if self.now - 30 * DAY <= at <= self.now:
            order = (self.index, len(self.records.history))
            self.records.history.append((at, event_type, kind, payload, order))

    def run(self) -> CustomerRecords:
        start = self.records.customer["created"]
        if self.shape.without_subscription and self.rng.random() < self.shape.without_subscription:
            return self.records
        ended = self.subscription(start, first=True)
        if ended is not None and (self.story == "reactivated" or self.rng.random() < self.shape.comeback_share):
            comeback = ended + self.rng.randint(15, 120) * DAY
            if comeback < self.now - DAY:
                self.subscription(comeback, first=False)
                ended = None
        if ended is not None and self.index % 40 == 6 and ended + 5 * DAY <= self.now:
            self.records.deleted_at = ended + 5 * DAY
            self.record("customer.deleted", ended + 5 * DAY, "object", self.records.customer)
        for state in self.records.subscriptions:
            state.changes.sort(key=lambda change: change[0])
        return self.records

    def choose_plan(self) -> tuple[str, str, int]:
        rng, story = self.rng, self.story
        if story == "quantity_change":
            return "seats", "month", rng.randint(3, 12)
        if story == "metered_tiered":
            return rng.choice(["volume", "graduated"]), "month", rng.randint(2, 60)
        if story in ("many_items", "upgrade", "past_due"):
            return rng.choice(["starter", "pro"]), "month", 1
        if story == "downgrade":
            return "business", "month", 1
        plans = self.shape.plan_mix or (("starter", 40), ("pro", 30), ("business", 15), ("seats", 15))
        intervals = self.shape.interval_mix or (("month", 70), ("quarter", 10), ("year", 20))
        key = rng.choices([k for k, _ in plans], [w for _, w in plans])[0]
        interval = rng.choices([i for i, _ in intervals], [w for _, w in intervals])[0]
        if key == "seats":
            return key, ("month" if interval == "quarter" else interval), rng.randint(2, 25)
        return key, interval, 1

    def choose_coupon(self) -> dict | None:
        forced = {"coupon_forever": "forever20", "coupon_repeating": "repeat3x25", "coupon_once": "once50",
                  "coupon_amount_off": "forever10usd"}
        key = forced.get(self.story)
        if self.story == "coupon_forever" and self.index % 40 == 8:
            key = "legacy20"   # a coupon deleted upstream while these discounts still carry it
        if key is None and self.rng.random() < 0.15:
            key = self.rng.choice(["forever20", "repeat3x25", "once50", "forever10usd", "repeat6usd",
                                   "once15eur", "retired15"])
        coupon = self.catalog.coupon_by_key.get(key) if key else None
        if coupon and coupon["currency"] not in (None, self.currency):
            return None
        return coupon

    # -- one subscription ------------------------------------------------------------
    def subscription(self, start: int, first: bool) -> int | None:
        """Simulate one subscription from ``start``; returns when it ended, or None."""
        rng, catalog, story, now = self.rng, self.catalog, self.story, self.now
        key, interval, quantity = self.choose_plan()
        months = {"month": 1, "quarter": 3, "year": 12}[interval]
        trial = first and (story in ("trialing", "trial_converted") or rng.random() < 0.15)
        trial = trial and story not in ("past_due", "upgrade", "downgrade", "cancel_at_period_end")
        anchor = start + 14 * DAY if trial else start
        state = SubscriptionState(random_id("sub", rng), self.records.customer["id"], self.currency,
                                  start, anchor, months, test_clock=self.records.customer["test_clock"])
        self.records.subscriptions.append(state)
        items = {}

        def add_item(price_key, item_quantity):
            item_id = random_id("si", rng)
            items[item_id] = (catalog.price(price_key, interval, self.currency)["id"], item_quantity)
            state.item_ids.append(item_id)
            state.item_created[item_id] = start

        add_item(key, quantity)
        if first and story == "many_items":
            for number in range(1, 13):
                add_item(f"addon{number}", 1)
            self.item_discount(state, state.item_ids[1], start)
        fewest, most = self.shape.extra_items
        if most and interval == "month" and story != "many_items":   # an add-on is on a subscription once
            for number in range(1, rng.randint(fewest, most) + 1):
                add_item(f"addon{number}", rng.randint(1, 20))
        if interval == "month" and (story == "metered_tiered" or rng.random() < self.shape.metered_share):
            add_item("usage", 0)
        state.set_items(start, items)
        state.change(start, status="trialing" if trial else "active",
                     trial_start=start if trial else None, trial_end=anchor if trial else None)
        discount = self.discount(state, start) if first else None
        self.record("customer.subscription.created", start, "subscription", state)
        if trial:
            self.mark_paid(self.invoice(state, start, "subscription_create", (start, anchor), trial=True), start)
            if anchor <= now:
                state.change(anchor, status="active")
                self.record("customer.subscription.updated", anchor, "subscription", state)
        pending: list[dict] = []
        may_churn = story not in ("many_items", "trialing", "past_due", "upgrade", "downgrade",
                                  "quantity_change", "coupon_forever", "coupon_repeating", "jpy", "eur",
                                  "metered_tiered", "unpaid")
        k = 0
        while True:
            period_start = add_months(anchor, k * months)
            period_end = add_months(anchor, (k + 1) * months)
            if period_start > now:
                return None
            is_current = period_end > now
            if k > 0:
                self.boundary_change(state, period_start, k, key)
                key = self.key_of(state, period_start)
            paused = is_current and k > 1 and story == "trial_converted" and self.index % 40 == 22
            if paused:  # collection paused a few days before this period; back in a month
                state.change(period_start - 5 * DAY, pause_collection={"behavior": "void",
                                                                       "resumes_at": period_end + 30 * DAY})
                self.record("customer.subscription.updated", period_start - 5 * DAY, "subscription", state)
            usage_period = (add_months(anchor, (k - 1) * months), period_start) if k > 0 else None
            reason = "subscription_create" if k == 0 and not trial else "subscription_cycle"
            invoice = self.invoice(state, period_start, reason, (period_start, period_end),
                                   usage_period=usage_period, prorations=pending,
                                   setup=(k == 0 and first and rng.random() < self.shape.setup_fee_share),
                                   discount=discount if self.discount_applies(discount, period_start, k) else None)
            pending = []
            if discount and discount["end"] is None and self.coupon_of(discount)["duration"] == "once":
                state.change(period_start + 1, discounts=[])  # Stripe drops it once the invoice used it
                discount = None
            if paused:
                self.void_paused(invoice)
                return None
            forced_failure = (story == "past_due" and is_current) or (story == "unpaid" and k == 2)
            outcome = self.settle(state, invoice, is_current, forced_failure)
            if outcome == "past_due":
                state.change(period_start, status="past_due")
                self.records.customer["delinquent"] = True
                return None
            if outcome == "unpaid":
                state.change(period_start + 21 * DAY, status="unpaid")
                self.record("customer.subscription.updated", period_start + 21 * DAY, "subscription", state)
                self.records.customer["delinquent"] = True
                return None
            if outcome in ("uncollectible", "void"):
                return self.end(state, period_start + 21 * DAY, period_start + 21 * DAY)
            if story == "cancel_at_period_end" and is_current:
                return self.cancel_at_period_end(state, period_start, period_end)
            forced_churn = story in ("canceled_now", "reactivated") and k == 3
            if forced_churn or (may_churn and rng.random() < 0.02 * months):
                if forced_churn or rng.random() < 0.5:
                    moment = period_start + int((period_end - period_start) * rng.uniform(0.1, 0.9))
                    if moment <= now:
                        return self.end(state, moment, moment)
                elif period_end <= now:
                    return self.cancel_at_period_end(state, period_start, period_end)
            upgrade = (story == "upgrade" and k == 1) or rng.random() < 0.03
            if upgrade and key in _TIER_UP and interval != "quarter":
                moment = period_start + int((period_end - period_start) * rng.uniform(0.2, 0.8))
                if moment < now:
                    pending = self.upgrade(state, moment, period_end, _TIER_UP[key], interval)
                    key = _TIER_UP[key]
            k += 1

    def key_of(self, state: SubscriptionState, at: int) -> str:
        price_id = next(iter(state.items_at(at).values()))[0]
        return self.catalog.key_of_price[price_id]

    def discount_applies(self, discount: dict | None, at: int, k: int) -> bool:
        if discount is None or discount["start"] > at:
            return False
        return discount["end"] is None or at < discount["end"]

    def coupon_of(self, discount: dict) -> dict:
        return discount["source"]["coupon"]

    def discount(self, state: SubscriptionState, at: int) -> dict | None:
        coupon = self.choose_coupon()
        if coupon is None:
            return None
        promotion = next((p["id"] for p in self.catalog.promotion_codes
                          if p["promotion"]["coupon"] == coupon["id"]), None)
        discount = stripe_object("discount", {
            "id": random_id("di", self.rng, 24), "object": "discount", "checkout_session": None,
            "customer": state.customer, "end": add_months(at, coupon["duration_in_months"])
            if coupon["duration"] == "repeating" else None,
            "invoice": None, "invoice_item": None,
            "promotion_code": promotion if self.rng.random() < 0.5 else None,
            "source": {"coupon": coupon, "type": "coupon"}, "start": at,
            "subscription": state.id, "subscription_item": None,
        })
        self.records.discounts[discount["id"]] = discount
        state.change(at, discounts=[discount["id"]])
        if discount["end"] is not None:
            state.change(discount["end"], discounts=[])
        return discount

    def item_discount(self, state: SubscriptionState, item_id: str, at: int) -> None:
        """A forever discount on one subscription item (subscription_item.discounts, line discounts)."""
        discount = stripe_object("discount", {
            "id": "di_" + item_id[len("si_"):] + "item", "object": "discount", "checkout_session": None,
            "customer": state.customer, "end": None, "invoice": None, "invoice_item": None,
            "promotion_code": None, "source": {"coupon": self.catalog.coupon_by_key["addon50"], "type": "coupon"},
            "start": at, "subscription": state.id, "subscription_item": item_id,
        })
        self.records.discounts[discount["id"]] = discount
        state.item_discounts[item_id] = [discount["id"]]

    def boundary_change(self, state: SubscriptionState, at: int, k: int, key: str) -> None:
        rng, story = self.rng, self.story
        items = dict(state.items_at(at))
        main_id = state.item_ids[0]
        price_id, quantity = items[main_id]
        interval = {1: "month", 3: "quarter", 12: "year"}[state.months]
        if ((story == "downgrade" and k == 2) or rng.random() < 0.015) and key in _TIER_DOWN:
            items[main_id] = (self.catalog.price(_TIER_DOWN[key], interval, self.currency)["id"], quantity)
        elif key in ("seats", "volume", "graduated") and (
                (story == "quantity_change" and k in (1, 3)) or rng.random() < 0.08):
            items[main_id] = (price_id, max(1, quantity + rng.choice([-2, -1, 1, 2, 3])))
        else:
            return
        state.set_items(at, items)
        self.record("customer.subscription.updated", at, "subscription", state)

    def upgrade(self, state, moment, period_end, new_key, interval) -> list[dict]:
        items = dict(state.items_at(moment))
        main_id = state.item_ids[0]
        old_price_id, quantity = items[main_id]
        new_price = self.catalog.price(new_key, interval, self.currency)
        items[main_id] = (new_price["id"], quantity)
        period_start = state.period_at(moment)[0]
        share = Fraction(period_end - moment, period_end - period_start)
        old_price = self.catalog.price_by_id[old_price_id]
        credit = -round_half_even(amount_for_quantity(old_price, quantity) * share)
        debit = round_half_even(amount_for_quantity(new_price, quantity) * share)
        state.set_items(moment, items)
        self.record("customer.subscription.updated", moment, "subscription", state)
        return [
            {"price": old_price, "quantity": quantity, "amount": credit, "period": (moment, period_end),
             "item": main_id, "proration": True, "created": moment,
             "description": f"Unused time on {old_price['nickname']}"},
            {"price": new_price, "quantity": quantity, "amount": debit, "period": (moment, period_end),
             "item": main_id, "proration": True, "created": moment,
             "description": f"Remaining time on {new_price['nickname']}"},
        ]

    def end(self, state: SubscriptionState, canceled_at: int, ended_at: int) -> int:
        state.change(ended_at, status="canceled", canceled_at=canceled_at, ended_at=ended_at)
        self.record("customer.subscription.deleted", ended_at, "subscription", state)
        return ended_at

    def cancel_at_period_end(self, state: SubscriptionState, period_start: int, period_end: int) -> int | None:
        decided = period_start + int((min(period_end, self.now) - period_start) * self.rng.uniform(0.2, 0.8))
        state.change(decided, cancel_at_period_end=True, cancel_at=period_end, canceled_at=decided)
        self.record("customer.subscription.updated", decided, "subscription", state)
        if period_end > self.now:
            return None
        state.change(period_end, status="canceled", ended_at=period_end)
        self.record("customer.subscription.deleted", period_end, "subscription", state)
        return period_end


# Where the demo's customers live, by the currency they pay in; picked by index, not by the random
# generator, so adding addresses left every other generated figure of the demo as it was.
_COUNTRIES = {"usd": ("US", "US", "US", "CA", "US", "GB", "US", "AU"), "eur": ("DE", "FR", "NL", "DE", "ES", "IE"),
              "jpy": ("JP",)}


def _address(currency: str, index: int) -> dict:
    countries = _COUNTRIES.get(currency, ("US",))
    return {"city": None, "country": countries[index % len(countries)], "line1": None, "line2": None,
            "postal_code": None, "state": None}
