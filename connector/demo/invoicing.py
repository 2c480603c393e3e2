"""Invoices, payments, refunds and credit notes of a simulated customer.

Mixed into ``CustomerSimulation`` (it uses the simulation's ``rng``, ``records``,
``record`` and catalog). One invoice per billing period: a line per licensed item
for the period, metered usage for the previous period, pending prorations and, on
the first invoice, maybe a setup fee (an invoice item). Payment: a charge at the
invoice's creation; 2 % fail, and a failure recovers three days later, or leaves
the subscription past_due / unpaid, or ends it with the invoice uncollectible or
void. About 0.6 % of paid charges are refunded in full and 0.9 % in part; every
full refund but the ``refund_full`` storyline's and half the partial ones come with
a credit note.

As in API 2025-03-31.basil on, a charge names no invoice and an invoice no charge:
each invoice with something to pay has its default ``invoice_payment`` (status
``paid``, ``open`` or ``canceled``) naming the payment intent that paid it, the
only way from a refund without a credit note back to the invoice it reverses.
"""

from __future__ import annotations

import random

from .billing import embedded_list, invoice_totals, line_discounts, line_taxes
from .catalog import TAX_BEHAVIOR, TAX_RATES_BPS, amount_for_quantity
from .ids import DAY, random_id
from .shapes import DEFAULT_SHAPE
from .unmodelled import stripe_object


class Invoicing:
    # The account's kind of business (shapes.py): the simulation's own; billing done through the
    # API (live.py) adds none of a shape's one-off lines.
    shape = DEFAULT_SHAPE

    def invoice(self, state, created, reason, period, *, trial=False, usage_period=None, prorations=(),
                setup=False, discount=None) -> dict:
        rng, customer = self.rng, self.records.customer
        invoice_id = random_id("in", rng, 24)
        specs = []
        for item_id, (price_id, quantity) in state.items_at(created).items():
            price = self.catalog.price_by_id[price_id]
            metered = price["recurring"]["usage_type"] == "metered"
            if metered and usage_period:
                usage = rng.randint(1_000, 30_000)
                specs.append({"price": price, "quantity": usage, "amount": price["unit_amount"] * usage,
                              "period": usage_period, "item": item_id, "description":
                              f"{usage} × {price['nickname']} (usage)"})
            elif not metered:
                amount = 0 if trial else amount_for_quantity(price, quantity)
                label = "Trial period for" if trial else f"{quantity} ×"
                specs.append({"price": price, "quantity": quantity, "amount": amount, "period": period,
                              "item": item_id, "description": f"{label} {price['nickname']}"})
        specs.extend(prorations)
        if setup:
            fee = self.catalog.price("setup", "one_time", self.currency)
            specs.append({"price": fee, "quantity": 1, "amount": fee["unit_amount"], "period": (created, created),
                          "item": None, "created": created, "description": "Onboarding and setup fee",
                          "discountable": False})
        if not trial:
            specs.extend(self.one_off_specs(created))
        lines = [self.line(spec, invoice_id, state, created) for spec in specs]
        # Stripe applies item discounts before the subscription's own.
        applied = [(discount_id, self.records.discounts[discount_id]["source"]["coupon"], item_id)
                   for item_id, ids in state.item_discounts.items() if item_id in state.items_at(created)
                   for discount_id in ids]
        if discount:
            applied.append((discount["id"], discount["source"]["coupon"], None))
        line_discounts(lines, applied)
        for line in lines:
            line_taxes(line, self.tax_rate_id, TAX_RATES_BPS[self.currency], TAX_BEHAVIOR[self.currency])
        customer["next_invoice_sequence"] += 1
        invoice = stripe_object("invoice", {
            "id": invoice_id, "object": "invoice", "account_country": "US", "account_name": "Demo SaaS Inc.",
            "amount_due": 0, "amount_paid": 0, "amount_remaining": 0, "amount_shipping": 0,
            "attempt_count": 0, "attempted": False, "auto_advance": False,
            "automatic_tax": stripe_object("invoice.automatic_tax", {}),
            "billing_reason": reason, "collection_method": "charge_automatically", "created": created,
            "currency": self.currency, "customer": customer["id"], "customer_email": customer["email"],
            "customer_name": customer["name"], "default_tax_rates": [], "description": None,
            "discounts": [discount["id"]] if discount else [], "due_date": None, "effective_at": created,
            "ending_balance": 0, "hosted_invoice_url": None, "invoice_pdf": None, "livemode": False,
            "metadata": {}, "number": f"{customer['invoice_prefix']}-{customer['next_invoice_sequence'] - 1:04d}",
            "parent": {"quote_details": None, "subscription_details": {"metadata": {}, "subscription": state.id},
                       "type": "subscription_details"},
            "period_end": period[0], "period_start": usage_period[0] if usage_period else period[0],
            "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
            "starting_balance": 0, "status": "draft",
            "status_transitions": {"finalized_at": created, "marked_uncollectible_at": None,
                                   "paid_at": None, "voided_at": None},
            "test_clock": state.test_clock, "total_pretax_credit_amounts": [], "webhooks_delivered_at": created,
            **invoice_totals(lines),
        })
        invoice["amount_due"] = invoice["amount_remaining"] = max(invoice["total"], 0)
        invoice["lines"] = embedded_list(lines, f"/v1/invoices/{invoice_id}/lines")
        self.records.invoices.append((invoice, lines))
        state.change(created, latest_invoice=invoice_id)
        self.record("invoice.created", created, "invoice", (invoice, "draft"))
        self.record("invoice.finalized", created, "invoice", (invoice, "open"))
        return invoice

    def one_off_specs(self, created: int) -> list[dict]:
        """The shape's one-off charges swept into this invoice as invoice items (none by default)."""
        fewest, most = self.shape.one_off_lines
        if not most:
            return []
        price = self.catalog.price("one_off", "one_time", self.currency)
        specs = []
        for _ in range(self.rng.randint(fewest, most)):
            quantity = self.rng.randint(1, 50)
            specs.append({"price": price, "quantity": quantity, "amount": price["unit_amount"] * quantity,
                          "period": (created, created), "item": None, "created": created,
                          "description": f"{quantity} × {self.shape.one_off_label}"})
        return specs

    def line(self, spec: dict, invoice_id: str, state, created: int) -> dict:
        price, rng = spec["price"], self.rng
        invoice_item = None
        if spec.get("proration") or spec["item"] is None:
            invoice_item = self.invoice_item(spec, invoice_id, state, spec.get("created", created))
        if spec["item"] is None:
            parent = {"invoice_item_details": {"invoice_item": invoice_item, "proration": False,
                                               "proration_details": {"credited_items": None},
                                               "subscription": state.id},
                      "subscription_item_details": None, "type": "invoice_item_details"}
        else:
            parent = {"invoice_item_details": None, "type": "subscription_item_details",
                      "subscription_item_details": {
                          "invoice_item": invoice_item, "proration": bool(spec.get("proration")),
                          "proration_details": {"credited_items": None}, "subscription": state.id,
                          "subscription_item": spec["item"]}}
        return stripe_object("line_item", {
            "id": random_id("il", rng, 24), "object": "line_item", "amount": spec["amount"],
            "currency": self.currency, "description": spec["description"], "discount_amounts": [],
            "discountable": spec.get("discountable", True), "discounts": [], "invoice": invoice_id,
            "livemode": False, "metadata": {}, "parent": parent,
            "period": {"end": spec["period"][1], "start": spec["period"][0]}, "pretax_credit_amounts": [],
            "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                        "type": "price_details", "unit_amount_decimal": price["unit_amount_decimal"]},
            "quantity": spec["quantity"], "subscription": state.id, "subtotal": spec["amount"], "taxes": [],
        })

    def invoice_item(self, spec: dict, invoice_id: str, state, created: int) -> str:
        price = spec["price"]
        item = stripe_object("invoiceitem", {
            "id": random_id("ii", self.rng, 24), "object": "invoiceitem", "amount": spec["amount"],
            "currency": self.currency, "customer": state.customer, "date": created,
            "description": spec["description"], "discountable": spec.get("discountable", True),
            "discounts": [], "invoice": invoice_id, "livemode": False, "metadata": {},
            "net_amount": spec["amount"],
            "parent": {"subscription_details": {"subscription": state.id, "subscription_item": spec["item"]},
                       "type": "subscription_details"},
            "period": {"end": spec["period"][1], "start": spec["period"][0]},
            "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                        "type": "price_details", "unit_amount_decimal": price["unit_amount_decimal"]},
            "proration": bool(spec.get("proration")), "quantity": spec["quantity"],
            "quantity_decimal": str(spec["quantity"]), "tax_rates": [],
            "test_clock": state.test_clock,
        })
        self.records.invoice_items.append(item)
        self.record("invoiceitem.created", created, "object", item)
        return item["id"]

    def settle(self, state, invoice: dict, is_current: bool, forced_failure: bool) -> str:
        """Pay (or fail to pay) an invoice; returns paid, past_due, unpaid, uncollectible or void."""
        outcome = self._settle(state, invoice, is_current, forced_failure)
        if invoice["total"] > 0:
            self.invoice_payment(invoice)
        return outcome

    def invoice_payment(self, invoice: dict) -> None:
        """The invoice's default invoice payment, as its settlement left it (stripe/_invoice_payment.py)."""
        charges = [c for c in self.records.charges if c["id"] in self._charges_of.get(invoice["id"], ())]
        paid = next((c for c in charges if c["status"] == "succeeded"), None)
        last = paid or (charges[-1] if charges else None)
        status = "paid" if paid else "canceled" if invoice["status"] == "void" else "open"
        payment = {
            "id": "inpay_" + invoice["id"][len("in_"):], "object": "invoice_payment",
            "amount_paid": invoice["amount_paid"] if paid else None, "amount_requested": invoice["amount_due"],
            "created": invoice["created"], "currency": invoice["currency"], "invoice": invoice["id"],
            "is_default": True, "livemode": False,
            "payment": {"payment_intent": last["payment_intent"] if last else None, "type": "payment_intent"},
            "status": status,
            "status_transitions": {"canceled_at": invoice["status_transitions"]["voided_at"] if status == "canceled"
                                   else None, "paid_at": invoice["status_transitions"]["paid_at"] if paid else None},
        }
        self.records.invoice_payments.append(payment)
        if paid:
            self.record("invoice_payment.paid", payment["status_transitions"]["paid_at"], "object", payment)

    def _settle(self, state, invoice: dict, is_current: bool, forced_failure: bool) -> str:
        rng, now, created = self.rng, self.now, invoice["created"]
        if invoice["total"] <= 0:
            self.mark_paid(invoice, created)
            return "paid"
        if not forced_failure and rng.random() >= 0.02:
            self.mark_paid(invoice, created, self.charge(invoice, created, succeeded=True))
            return "paid"
        invoice["attempt_count"], invoice["attempted"] = 1, True
        self.charge(invoice, created, succeeded=False)
        self.record("invoice.payment_failed", created, "invoice", (invoice, "open"))
        if self.story == "unpaid" and forced_failure:
            outcome = "unpaid"
        elif forced_failure or (is_current and created + 21 * DAY > now):
            outcome = "past_due"
        else:
            outcome = rng.choices(["recovered", "unpaid", "uncollectible", "void"], [60, 10, 15, 15])[0]
        if outcome == "recovered" and created + 3 * DAY <= now:
            invoice["attempt_count"] = 2
            self.mark_paid(invoice, created + 3 * DAY, self.charge(invoice, created + 3 * DAY, succeeded=True))
            return "paid"
        if outcome in ("past_due", "unpaid", "recovered"):
            invoice["status"] = "open"
            return "past_due" if outcome == "recovered" else outcome
        moment = created + 21 * DAY
        invoice["status"] = outcome
        invoice["amount_remaining"] = 0 if outcome == "void" else invoice["amount_due"]
        transition = "voided_at" if outcome == "void" else "marked_uncollectible_at"
        invoice["status_transitions"][transition] = moment
        event = "invoice.voided" if outcome == "void" else "invoice.marked_uncollectible"
        self.record(event, moment, "invoice", (invoice, outcome))
        self.record("invoice.updated", moment, "invoice", (invoice, outcome))
        return outcome

    def void_paused(self, invoice: dict) -> None:
        """pause_collection behavior ``void``: invoices created during the pause are voided."""
        invoice["status"] = "void"
        invoice["status_transitions"]["voided_at"] = invoice["created"]
        self.record("invoice.voided", invoice["created"], "invoice", (invoice, "void"))

    def mark_paid(self, invoice: dict, paid_at: int, charge: dict | None = None) -> None:
        invoice["status"] = "paid"
        invoice["amount_paid"] = invoice["amount_due"]
        invoice["amount_remaining"] = 0
        invoice["status_transitions"]["paid_at"] = paid_at
        self.record("invoice.paid", paid_at, "invoice", (invoice, "paid"))
        self.record("invoice.updated", paid_at, "invoice", (invoice, "paid"))
        if charge is not None:
            self.maybe_refund(invoice, charge)

    def charge(self, invoice: dict, created: int, succeeded: bool) -> dict:
        rng = self.rng
        amount = invoice["amount_due"]
        customer = self.records.customer
        charge = stripe_object("charge", {
            "id": random_id("ch", rng, 24), "object": "charge", "amount": amount,
            "amount_captured": amount if succeeded else 0, "amount_refunded": 0,
            "balance_transaction": random_id("txn", rng, 24) if succeeded else None,
            "billing_details": stripe_object("charge.billing_details",
                                             {"email": customer["email"], "name": customer["name"]}),
            "calculated_statement_descriptor": "DEMO SAAS", "captured": succeeded, "created": created,
            "currency": self.currency, "customer": self.records.customer["id"],
            "description": "Subscription creation" if invoice["billing_reason"] == "subscription_create"
            else "Subscription update",
            "disputed": False, "failure_code": None if succeeded else "card_declined",
            "failure_message": None if succeeded else "Your card was declined.", "livemode": False,
            "metadata": {}, "outcome": stripe_object("charge.outcome", {
                "network_status": "approved_by_network" if succeeded else "declined_by_network",
                "reason": None if succeeded else "generic_decline", "risk_level": "normal",
                "seller_message": "Payment complete." if succeeded else "The bank did not return any further details.",
                "type": "authorized" if succeeded else "issuer_declined"}),
            "paid": succeeded, "payment_intent": random_id("pi", rng, 24),
            "payment_method": random_id("pm", rng, 24),
            "payment_method_details": {"card": stripe_object("charge.card", {
                "brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2030, "funding": "credit",
                "last4": "4242"}), "type": "card"},
            "receipt_url": None, "refunded": False, "status": "succeeded" if succeeded else "failed",
        })
        self.records.charges.append(charge)
        self._charges_of.setdefault(invoice["id"], []).append(charge["id"])
        self.record("charge.succeeded" if succeeded else "charge.failed", created, "charge", (charge, 0))
        return charge

    def maybe_refund(self, invoice: dict, charge: dict) -> None:
        rng, story = self.rng, self.story
        already = any(r for r in self.records.refunds)
        if story == "refund_full" and not already:
            kind = "full"
        elif story == "refund_partial" and not already:
            kind = "partial"
        else:
            draw = rng.random()
            kind = "full" if draw < 0.006 else "partial" if draw < 0.015 else None
        when = charge["created"] + rng.randint(1, 20) * DAY
        if kind is None or when > self.now or charge["amount"] <= 1:
            return
        amount = charge["amount"] if kind == "full" else max(1, charge["amount"] * rng.randint(10, 60) // 100)
        refund = refund_object(rng, charge, amount, when, "requested_by_customer", {})
        self.records.refunds.append(refund)
        apply_refund(charge, amount)
        self.record("refund.created", when, "object", refund)
        self.record("charge.refunded", when, "charge", (charge, charge["amount_refunded"]))
        # The refund_full storyline's refund has no credit note: only its invoice payment links it.
        if (story != "refund_full" if kind == "full" else rng.random() < 0.5):
            note = credit_note(rng, invoice, refund, when, len(self.records.credit_notes) + 1)
            self.records.credit_notes.append(note)
            invoice["post_payment_credit_notes_amount"] += amount
            self.record("credit_note.created", when, "object", note)


def refund_object(rng: random.Random, charge: dict, amount: int, created: int, reason: str | None,
                  metadata: dict) -> dict:
    """A succeeded card refund of ``amount`` of ``charge`` (the simulation's and the API's)."""
    return stripe_object("refund", {
        "id": random_id("re", rng, 24), "object": "refund", "amount": amount,
        "balance_transaction": random_id("txn", rng, 24), "charge": charge["id"], "created": created,
        "currency": charge["currency"], "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": metadata, "payment_intent": charge["payment_intent"], "reason": reason,
        "receipt_number": None, "status": "succeeded",
    })


def apply_refund(charge: dict, amount: int) -> None:
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]


def credit_note(rng: random.Random, invoice: dict, refund: dict, created: int, sequence: int) -> dict:
    amount = refund["amount"]
    note_id = random_id("cn", rng, 24)
    first_line = invoice["lines"]["data"][0]["id"] if invoice["lines"]["data"] else None
    line = {
        "id": random_id("cnli", rng, 24), "object": "credit_note_line_item", "amount": amount,
        "description": "Refund", "discount_amount": 0, "discount_amounts": [],
        "invoice_line_item": first_line, "livemode": False, "metadata": {}, "pretax_credit_amounts": [],
        "quantity": 1, "tax_rates": [], "taxes": [], "type": "invoice_line_item",
        "unit_amount": None, "unit_amount_decimal": None,
    }
    return stripe_object("credit_note", {
        "id": note_id, "object": "credit_note", "amount": amount, "amount_shipping": 0, "created": created,
        "currency": invoice["currency"], "customer": invoice["customer"], "customer_balance_transaction": None,
        "discount_amount": 0, "discount_amounts": [], "effective_at": created, "invoice": invoice["id"],
        "lines": embedded_list([line], f"/v1/credit_notes/{note_id}/lines"), "livemode": False, "memo": None,
        "metadata": {}, "number": f"{invoice['number']}-CN-{sequence:02d}", "out_of_band_amount": None,
        "pdf": f"https://pay.stripe.com/credit_notes/{note_id}/pdf", "post_payment_amount": amount,
        "pre_payment_amount": 0, "pretax_credit_amounts": [], "reason": "product_unsatisfactory",
        "refunds": [{"amount_refunded": amount, "payment_record_refund": None, "refund": refund["id"],
                     "type": "refund"}],
        "status": "issued", "subtotal": amount, "subtotal_excluding_tax": amount, "total": amount,
        "total_excluding_tax": amount, "total_taxes": [], "type": "post_payment", "voided_at": None,
    })
