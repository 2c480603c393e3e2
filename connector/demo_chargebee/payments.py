"""Transactions of the fake site: a payment per invoice (failed while in dunning), refunds with their credit notes."""

from __future__ import annotations

import random
from typing import Any


def _txn(n, inv: dict, kind: str, status: str, amount: int, date: int) -> dict[str, Any]:
    return {
        "id": f"txn_{n.next('txn'):06d}", "customer_id": inv["customer_id"], "subscription_id": inv["subscription_id"],
        "payment_method": "card", "gateway": "chargebee", "gateway_account_id": "gw_fake_1",
        "type": kind, "date": date, "currency_code": inv["currency_code"], "amount": amount,
        "status": status, "updated_at": date, "resource_version": date * 1000, "deleted": False,
        "masked_card_number": "************4242", "exchange_rate": 1.0, "object": "transaction",
    }


def payment_for(n, inv: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """The payment of ``inv``: succeeded when paid, failed when it is in dunning; None for a zero total."""
    if inv["total"] <= 0:
        return None
    paid = inv["status"] == "paid"
    txn = _txn(n, inv, "payment", "success" if paid else "failure", inv["total"], inv["date"] + 60)
    txn["id_at_gateway"] = f"ch_{rng.randrange(10**9):09d}"
    if paid:
        txn["amount_unused"] = 0
        txn["linked_invoices"] = [{
            "invoice_id": inv["id"], "applied_amount": inv["total"], "applied_at": txn["date"],
            "invoice_date": inv["date"], "invoice_total": inv["total"], "invoice_status": inv["status"],
        }]
        inv["linked_payments"] = [{
            "txn_id": txn["id"], "applied_amount": inv["total"], "applied_at": txn["date"],
            "txn_status": "success", "txn_date": txn["date"], "txn_amount": txn["amount"],
        }]
    else:
        txn["error_code"] = "card_declined"
        txn["error_text"] = "Your card was declined."
        txn["linked_invoices"] = [{
            "invoice_id": inv["id"], "applied_amount": 0, "applied_at": txn["date"],
            "invoice_date": inv["date"], "invoice_total": inv["total"], "invoice_status": inv["status"],
        }]
    return txn


def refund_for(n, inv: dict[str, Any], payment: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A refundable credit note for the whole invoice and the refund transaction that paid it out."""
    date = inv["date"] + 3 * 86_400
    note_id = f"CN-{n.next('credit_note'):04d}"
    refund = _txn(n, inv, "refund", "success", inv["total"], date)
    refund["reference_transaction_id"] = payment["id"]
    refund["refunded_txn_id"] = payment["id"]
    refund["linked_credit_notes"] = [{
        "cn_id": note_id, "applied_amount": inv["total"], "applied_at": date,
        "cn_reason_code": "subscription_cancellation", "cn_date": date, "cn_total": inv["total"],
        "cn_status": "refunded", "cn_reference_invoice_id": inv["id"],
    }]
    payment["linked_refunds"] = [{"txn_id": refund["id"], "txn_status": "success", "txn_date": date,
                                  "txn_amount": inv["total"]}]
    lines = [dict(line, id=f"cn{line['id']}") for line in inv["line_items"]]
    note = {
        "id": note_id, "customer_id": inv["customer_id"], "subscription_id": inv["subscription_id"],
        "reference_invoice_id": inv["id"], "type": "refundable", "reason_code": "subscription_cancellation",
        "create_reason_code": "Subscription Cancellation",
        "status": "refunded", "date": date, "price_type": inv["price_type"], "currency_code": inv["currency_code"],
        "total": inv["total"], "amount_allocated": 0, "amount_refunded": inv["total"], "amount_available": 0,
        "refunded_at": date, "generated_at": date, "resource_version": date * 1000, "updated_at": date,
        "channel": "web", "sub_total": inv["sub_total"], "round_off_amount": 0, "fractional_correction": 0,
        "line_items": lines, "line_item_discounts": [], "line_item_taxes": [], "discounts": [], "taxes": [],
        "linked_refunds": [{"txn_id": refund["id"], "applied_amount": inv["total"], "applied_at": date,
                            "txn_status": "success", "txn_date": date, "txn_amount": inv["total"]}],
        "allocations": [], "deleted": False, "object": "credit_note",
    }
    inv["issued_credit_notes"] = [{"cn_id": note_id, "cn_reason_code": "subscription_cancellation",
                                   "cn_date": date, "cn_total": inv["total"], "cn_status": "refunded"}]
    inv["updated_at"] = max(inv["updated_at"], date)
    inv["resource_version"] = inv["updated_at"] * 1000
    return note, refund
