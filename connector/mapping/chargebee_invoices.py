"""Chargebee invoices, credit notes and refund transactions of one customer → neutral rows.

Amounts stay in Chargebee's minor units with the document's currency. A line's
``amount`` is before discounts; ``discount_amount`` (document-level) and
``item_level_discount_amount`` are its discounts; ``tax_amount`` is inside the
amount when the invoice's ``price_type`` is ``tax_inclusive``, on top of it
otherwise. Lines of plans and addons are ``recurring`` (``usage`` when
metered); charges, setup fees and ad hoc lines are ``one_time``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..store import canonical_json
from .chargebee_shapes import PROVIDER, currency_of, day_text, item_row_id

INVOICE_STATUS = {"paid": "paid", "posted": "open", "payment_due": "open", "not_paid": "uncollectible",
                  "voided": "void", "pending": "draft"}
RECURRING_ENTITIES = frozenset({"plan_item_price", "addon_item_price", "plan", "addon"})
ONE_TIME_ENTITIES = frozenset({"charge_item_price", "plan_setup", "adhoc"})
REFUND_STATUS = {"success": "succeeded", "failure": "failed", "in_progress": "pending", "voided": "canceled",
                 "timeout": "failed", "needs_attention": "pending", "late_failure": "failed"}


def _line_kind(line: Mapping[str, Any]) -> str | None:
    entity = line.get("entity_type")
    if entity in ONE_TIME_ENTITIES:
        return "one_time"
    if entity in RECURRING_ENTITIES:
        return "usage" if line.get("metered") else "recurring"
    return None


def _refunds_by_invoice(mapper) -> tuple[dict[str, int], dict[str, int]]:
    """(refunded, credited) minor units per invoice, from the customer's credit notes."""
    refunded: dict[str, int] = {}
    credited: dict[str, int] = {}
    for note in mapper.raw.credit_notes:
        invoice = note.get("reference_invoice_id")
        if invoice is None or note.get("status") == "voided":
            continue
        credited[invoice] = credited.get(invoice, 0) + int(note.get("total") or 0)
        refunded[invoice] = refunded.get(invoice, 0) + int(note.get("amount_refunded") or 0)
    return refunded, credited


def _invoice(mapper, inv: Mapping[str, Any], refunded: int, credited: int) -> None:
    status = INVOICE_STATUS.get(inv.get("status"))
    currency = currency_of(inv)
    if status is None:
        mapper.flag("invoice", inv["id"], f"unknown invoice status {inv.get('status')}", inv.get("total"), currency)
        status = inv.get("status")
    lines = inv.get("line_items") or []
    inclusive = inv.get("price_type") == "tax_inclusive"
    discounts = sum(int(d.get("amount") or 0) for d in inv.get("discounts") or [])
    tax = int(inv.get("tax") or 0)
    mapper.tables["billing_invoices"].append({
        "provider": PROVIDER, "id": inv["id"], "customer_id": mapper.cid, "subscription_id": inv.get("subscription_id"),
        "status": status,
        "billing_reason": ("subscription_create" if inv.get("first_invoice") else "subscription_cycle")
        if inv.get("recurring") else "manual",
        "currency": currency, "created_at": inv.get("date"),
        "period_start_at": min((l["date_from"] for l in lines if l.get("date_from") is not None), default=None),
        "period_end_at": max((l["date_to"] for l in lines if l.get("date_to") is not None), default=None),
        "subtotal_minor": inv.get("sub_total"), "discount_minor": discounts, "tax_minor": tax,
        "total_excluding_tax_minor": int(inv.get("total") or 0) - tax, "total_minor": inv.get("total"),
        "amount_paid_minor": inv.get("amount_paid"), "amount_refunded_minor": refunded,
        "amount_credited_minor": credited,
    })
    by_line: dict[str, list[dict[str, Any]]] = {}
    for entry in inv.get("line_item_discounts") or []:
        by_line.setdefault(entry.get("line_item_id"), []).append(
            {"discount": entry.get("entity_id"), "amount": int(entry.get("discount_amount") or 0)})
    for line in lines:
        kind = _line_kind(line)
        if kind is None:
            mapper.flag("invoice_line", f"{inv['id']}:{line['id']}", f"unknown line entity type {line.get('entity_type')}",
                        line.get("amount"), currency)
            kind = "unknown"
        amount = int(line.get("amount") or 0)
        discount = int(line.get("discount_amount") or 0) + int(line.get("item_level_discount_amount") or 0)
        line_tax = int(line.get("tax_amount") or 0)
        tax_inside = line_tax if inclusive else 0
        recurring = kind in ("recurring", "usage")
        mapper.tables["billing_invoice_lines"].append({
            "provider": PROVIDER, "id": line["id"], "invoice_id": inv["id"], "customer_id": mapper.cid,
            "subscription_id": line.get("subscription_id"),
            "subscription_item_id": item_row_id(line["subscription_id"], line["entity_id"])
            if recurring and line.get("subscription_id") and line.get("entity_id") else None,
            "plan_id": line.get("entity_id"), "kind": kind, "quantity": line.get("quantity"),
            "currency": currency, "amount_minor": amount, "discount_minor": discount, "tax_minor": line_tax,
            "tax_inclusive_minor": tax_inside, "net_minor": amount - discount - tax_inside,
            "discount_amounts": canonical_json(by_line.get(line["id"], [])),
            "period_start_at": line.get("date_from"), "period_end_at": line.get("date_to"),
            "service_start_date": day_text(line.get("date_from")), "service_end_date": day_text(line.get("date_to")),
        })


def _credit_note(mapper, note: Mapping[str, Any]) -> None:
    kind = {"refundable": "post_payment", "store": "post_payment", "adjustment": "pre_payment"}.get(note.get("type"))
    if kind is None:
        mapper.flag("credit_note", note["id"], f"unknown credit note type {note.get('type')}", note.get("total"),
                    currency_of(note))
    tax = sum(int(t.get("amount") or 0) for t in note.get("taxes") or [])
    mapper.tables["billing_credit_notes"].append({
        "provider": PROVIDER, "id": note["id"], "customer_id": mapper.cid, "invoice_id": note.get("reference_invoice_id"),
        "status": "void" if note.get("status") == "voided" else "issued", "type": kind,
        "reason": note.get("reason_code") or note.get("create_reason_code"), "currency": currency_of(note),
        "total_minor": note.get("total"), "total_excluding_tax_minor": int(note.get("total") or 0) - tax,
        "created_at": note.get("date"),
    })


def _transaction(mapper, txn: Mapping[str, Any], invoice_of_note: dict[str, str]) -> None:
    kind = txn.get("type")
    if kind == "payment" or kind == "authorization":
        return   # payments are on the invoices (amount_paid); authorizations move no money
    if kind != "refund":
        mapper.flag("transaction", txn["id"], f"transaction type {kind}", txn.get("amount"), currency_of(txn))
        return
    notes = [n.get("cn_id") for n in txn.get("linked_credit_notes") or []]
    invoice = next((invoice_of_note[n] for n in notes if n in invoice_of_note), None)
    if invoice is None:
        invoice = next((n.get("cn_reference_invoice_id") for n in txn.get("linked_credit_notes") or []
                        if n.get("cn_reference_invoice_id")), None)
    mapper.tables["billing_refunds"].append({
        "provider": PROVIDER, "id": txn["id"], "customer_id": mapper.cid,
        "charge_id": txn.get("reference_transaction_id") or txn.get("refunded_txn_id"), "invoice_id": invoice,
        "status": REFUND_STATUS.get(txn.get("status"), txn.get("status")), "currency": currency_of(txn),
        "amount_minor": txn.get("amount"), "created_at": txn.get("date"),
    })


def map_documents(mapper) -> None:
    """Invoices with their lines, credit notes and refunds of ``mapper``'s customer."""
    refunded, credited = _refunds_by_invoice(mapper)
    for inv in sorted(mapper.raw.invoices, key=lambda i: i["id"]):
        _invoice(mapper, inv, refunded.get(inv["id"], 0), credited.get(inv["id"], 0))
    for note in sorted(mapper.raw.credit_notes, key=lambda n: n["id"]):
        _credit_note(mapper, note)
    invoice_of_note = {n["id"]: n.get("reference_invoice_id") for n in mapper.raw.credit_notes
                       if n.get("reference_invoice_id")}
    for txn in sorted(mapper.raw.transactions, key=lambda t: t["id"]):
        _transaction(mapper, txn, invoice_of_note)
