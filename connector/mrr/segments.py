"""Revenue segments: neutral tables → stored, policy-neutral pieces (``mrr_segments``).

Per customer, three kinds of pieces, each pointing at what it came from:

* ``invoice_line`` — history: a recurring (or usage, or proration) invoice line
  over its service period, at its list amount excluding tax, tagged
  ``invoice_basis`` plus ``invoice:<status>``, ``refunded_full``/``refunded_partial``,
  ``credited``, ``trialing``, ``proration``. A proration line is stored at the
  full-period list price of its quantity (negative for the credit of the old
  one), so that "the new price counts from the change" holds in history.
* ``subscription_item`` — the present: the live subscription's item from its
  current period start (or from the day a proration line or an update event in
  that period says it took its present price or quantity), split at the period
  end into ``current`` and
  ``renewal`` pieces, tagged ``subscription_basis`` plus its status
  (``trialing``, ``past_due``, ``unpaid``, ``incomplete``, ``incomplete_expired``,
  ``paused``), ``pause_collection``, ``pending_cancel``.
* ``discount`` — a negative piece per discount and base piece, tagged
  ``discount:forever|repeating|once|unknown``, spanning what the discount covers.

Both bases are stored in full; :func:`effective_segments` (segments_effective.py)
chooses one per subscription and day, so a period is never counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from ..mapping.schema import TABLES, ensure_schema
from ..store import Store
from .model import SEGMENT_MIGRATIONS, SEGMENTS_TABLE, segment_row, write_customer_segments
from .segments_effective import effective_segments  # noqa: F401  (public API lives here)
from .segments_pricing import discount_amounts, gross_amount, inclusive_tax_share, split_line

PROVIDER = "stripe"
SUBSCRIPTION_STATUS_TAGS = {"trialing", "past_due", "unpaid", "incomplete", "incomplete_expired", "paused"}
KNOWN_STATUSES = SUBSCRIPTION_STATUS_TAGS | {"active", "canceled"}


def _day(epoch: int | None) -> date | None:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date() if epoch is not None else None


def _rows(store: Store, table: str, customer_id: str) -> list[dict[str, Any]]:
    # Sorted here, not by ORDER BY id: that would make SQLite walk the primary key
    # index of the whole table instead of the customer index.
    cursor = store.db.execute(
        f"SELECT * FROM {table} WHERE provider = ? AND customer_id = ? AND _deleted = 0", [PROVIDER, customer_id])
    names = [d[0] for d in cursor.description]
    return sorted((dict(zip(names, row)) for row in cursor.fetchall()), key=lambda r: r["id"])


def _plans(store: Store, plan_ids: set[str]) -> dict[str, dict[str, Any]]:
    ids = sorted(p for p in plan_ids if p)
    if not ids:
        return {}
    cursor = store.db.execute(
        f"SELECT * FROM billing_plans WHERE provider = ? AND _deleted = 0 AND id IN ({', '.join('?' for _ in ids)})",
        [PROVIDER, *ids])
    names = [d[0] for d in cursor.description]
    return {row[names.index("id")]: dict(zip(names, row)) for row in cursor.fetchall()}


def _all_customers(store: Store) -> set[str]:
    customers: set[str] = set()
    for name, table in TABLES.items():
        if table.per_customer:
            customers |= {c for (c,) in store.db.execute(f"SELECT DISTINCT customer_id FROM {name}") if c}
    customers |= {c for (c,) in store.db.execute(f"SELECT DISTINCT customer_id FROM {SEGMENTS_TABLE}") if c}
    return customers


def build_segments(store: Store, customer_ids: Iterable[str] | None = None) -> set[str]:
    """(Re)write the stored segments of these customers (None = all); returns those that changed."""
    ensure_schema(store)
    store.migrate("mrr", SEGMENT_MIGRATIONS)
    changed = set()
    with store.db.atomic():
        wanted = _all_customers(store) if customer_ids is None else set(customer_ids)
        for customer_id in sorted(wanted):
            rows = _CustomerSegments(store, customer_id).build()
            if write_customer_segments(store, PROVIDER, customer_id, rows):
                changed.add(customer_id)
    return changed


class _CustomerSegments:
    def __init__(self, store: Store, customer_id: str):
        self.cid = customer_id
        self.subscriptions = {s["id"]: s for s in _rows(store, "billing_subscriptions", customer_id)}
        self.items = _rows(store, "billing_subscription_items", customer_id)
        self.discounts = {d["id"]: d for d in _rows(store, "billing_discounts", customer_id)}
        self.invoices = {i["id"]: i for i in _rows(store, "billing_invoices", customer_id)}
        self.lines = sorted(_rows(store, "billing_invoice_lines", customer_id), key=lambda r: (r["invoice_id"], r["id"]))
        self.changes = _rows(store, "billing_subscription_changes", customer_id)
        self.plans = _plans(store, {i["plan_id"] for i in self.items} | {line["plan_id"] for line in self.lines})
        self.out: list[dict[str, Any]] = []

    def build(self) -> list[dict[str, Any]]:
        for line in self.lines:
            self.invoice_line(line)
        for item in self.items:
            self.subscription_item(item)
        return self.out

    def piece(self, **kwargs: Any) -> dict[str, Any]:
        row = segment_row(provider=PROVIDER, customer_id=self.cid, **kwargs)
        self.out.append(row)
        return row

    # ---- history: invoice lines ---------------------------------------
    def invoice_tags(self, invoice: Mapping[str, Any]) -> list[str]:
        tags = [f"invoice:{invoice['status']}"]
        paid = invoice.get("amount_paid_minor") or 0
        refunded = invoice.get("amount_refunded_minor") or 0
        if paid > 0 and refunded >= paid:
            tags.append("refunded_full")
        elif refunded > 0:
            tags.append("refunded_partial")
        if invoice.get("amount_credited_minor"):
            tags.append("credited")
        return tags

    def invoice_line(self, line: Mapping[str, Any]) -> None:
        invoice = self.invoices.get(line["invoice_id"])
        plan = self.plans.get(line["plan_id"])
        start, end = _day(line["period_start_at"]), _day(line["period_end_at"])
        if line["kind"] not in ("recurring", "usage", "proration") or invoice is None or plan is None:
            return
        if not plan.get("interval") or start is None or end is None or end <= start:
            return
        subscription = self.subscriptions.get(line["subscription_id"]) or {}
        tags = ["invoice_basis", *self.invoice_tags(invoice)]
        trial_start, trial_end = _day(subscription.get("trial_start_at")), _day(subscription.get("trial_end_at"))
        if trial_start and trial_end and trial_start <= start < trial_end:
            tags.append("trialing")
        slot = line["subscription_item_id"] or f"{line['subscription_id']}|{line['plan_id']}"
        detail = {
            "invoice": invoice["id"], "invoice_line": line["id"], "subscription_item": line["subscription_item_id"],
            "price": line["plan_id"], "quantity": line["quantity"], "slot": slot, "kind": line["kind"],
            "amount_paid": invoice.get("amount_paid_minor"), "amount_refunded": invoice.get("amount_refunded_minor"),
            "amount_credited": invoice.get("amount_credited_minor"), "tax": line["tax_minor"],
            "subscription_ended": self.ended(subscription),
        }
        common = dict(currency=line["currency"], start=start, end=end, interval=plan["interval"],
                      interval_count=plan["interval_count"] or 1, subscription_id=line["subscription_id"])
        segment_id = f"line:{invoice['id']}:{line['id']}"
        if line["kind"] == "proration":
            full = gross_amount(plan, line["quantity"])
            if full is None:
                return
            share = self.tax_share(plan, None, line)
            sign = -1 if line["amount_minor"] < 0 else 1
            amount = sign * int(round(full * share if share else full))
            self.piece(segment_id=segment_id, source_type="invoice_line", source_id=line["id"], amount_minor=amount,
                       tags=[*tags, "proration"], detail={**detail, "billed": line["amount_minor"]}, **common)
            return
        series = "usage" if line["kind"] == "usage" else "mrr"
        discounts = json.loads(line["discount_amounts"] or "[]")
        list_excl, discount_excl = split_line(line["amount_minor"], line["discount_minor"], line["net_minor"])
        self.piece(segment_id=segment_id, source_type="invoice_line", source_id=line["id"], amount_minor=list_excl,
                   series=series, tags=tags, detail=detail, **common)
        remaining = discount_excl
        for index, entry in enumerate(discounts):
            share = remaining if index == len(discounts) - 1 else (
                round(Fraction(discount_excl * entry["amount"], line["discount_minor"])) if line["discount_minor"] else 0)
            remaining -= share
            discount = self.discounts.get(entry["discount"]) or {}
            self.piece(segment_id=f"line_discount:{invoice['id']}:{line['id']}:{index}", source_type="discount",
                       source_id=entry["discount"] or "", amount_minor=-share, series=series,
                       tags=[*tags, "discount", f"discount:{discount.get('duration') or 'unknown'}"],
                       detail={"parent": segment_id, "discount": entry["discount"], "coupon": discount.get("coupon_id"),
                               "invoice_line": line["id"]}, **common)

    @staticmethod
    def ended(subscription: Mapping[str, Any]) -> str | None:
        """The day an ended subscription stopped (its lines stop there on the subscription basis)."""
        if subscription.get("status") not in ("canceled", "incomplete_expired"):
            return None
        end = subscription.get("ended_at") or subscription.get("canceled_at")
        return _day(end).isoformat() if end else None

    def tax_share(self, plan: Mapping[str, Any], item: Mapping[str, Any] | None,
                  line: Mapping[str, Any] | None) -> Fraction | None:
        """Net share of an inclusive-tax price: its tax rates, else its latest invoice line."""
        if plan.get("tax_behavior") != "inclusive":
            return None
        rates = json.loads((item or {}).get("tax_rates") or "[]")
        if not rates and item is not None:
            rates = json.loads((self.subscriptions.get(item["subscription_id"]) or {}).get("tax_rates") or "[]")
        share = inclusive_tax_share(rates)
        if share is not None:
            return share
        candidates = [line] if line else [
            x for x in self.lines if x["kind"] == "recurring" and x["subscription_item_id"] == (item or {}).get("id")]
        for known in sorted((c for c in candidates if c), key=lambda c: c["period_start_at"] or 0, reverse=True):
            billed = known["amount_minor"] - known["discount_minor"]
            if billed:
                return Fraction(known["net_minor"], billed)
        return None

    # ---- the present: the live subscription ------------------------------
    def subscription_item(self, item: Mapping[str, Any]) -> None:
        sub = self.subscriptions.get(item["subscription_id"])
        plan = self.plans.get(item["plan_id"])
        if sub is None or plan is None or not plan.get("interval") or plan.get("usage_type") == "metered":
            return   # metered items are billed from usage: the invoice lines carry them
        start, period_end = _day(item["current_period_start_at"]), _day(item["current_period_end_at"])
        gross = gross_amount(plan, item["quantity"])
        if start is None or gross is None:
            return
        changed_on = self.changed_mid_period(item, start, period_end)
        start = changed_on or start
        status = sub["status"]
        end = None
        if status in ("canceled", "incomplete_expired"):
            end = _day(sub["ended_at"] or sub["canceled_at"] or sub["current_period_end_at"])
        elif sub["cancel_at_period_end"]:
            end = period_end
        elif sub["cancel_at"]:
            end = _day(sub["cancel_at"])
        if end is not None and end <= start:
            return
        share = self.tax_share(plan, item, None)
        list_amount = int(round(gross * share)) if share is not None else int(round(gross))
        tags = ["subscription_basis"]
        if status in SUBSCRIPTION_STATUS_TAGS:
            tags.append(status)
        elif status not in KNOWN_STATUSES:
            tags.append("status:unknown")
        if sub["pause_behavior"]:
            tags.append("pause_collection")
        pending_cancel = status not in ("canceled", "incomplete_expired") and (sub["cancel_at_period_end"] or sub["cancel_at"])
        if pending_cancel:
            tags.append("pending_cancel")
        if plan.get("tax_behavior") == "inclusive" and share is None:
            tags.append("tax_unknown")
        detail = {
            "subscription_item": item["id"], "price": item["plan_id"], "quantity": item["quantity"],
            "slot": item["id"], "status": status,
            "canceled_at": _day(sub["canceled_at"]).isoformat() if sub["canceled_at"] and pending_cancel else None,
            "past_due_since": self.past_due_since(sub["id"]) if status == "past_due" else None,
        }
        parts = [("current", start, end if period_end is None or (end is not None and end <= period_end) else period_end)]
        if period_end is not None and (end is None or end > period_end):
            parts.append(("renewal", period_end, end))
        common = dict(currency=sub["currency"] or plan["currency"], interval=plan["interval"],
                      interval_count=plan["interval_count"] or 1, subscription_id=sub["id"])
        for part, part_start, part_end in parts:
            part_tags = list(tags)
            if part == "renewal" and "trialing" in part_tags:
                part_tags.remove("trialing")   # the trial is the current period; what follows is paid
            if part == "current" and self.current_invoice_refunded(item, part_start):
                part_tags.append("refunded_full")
            segment_id = f"item:{item['id']}:{part}"
            self.piece(segment_id=segment_id, source_type="subscription_item", source_id=item["id"],
                       amount_minor=list_amount, start=part_start, end=part_end, tags=part_tags,
                       detail={**detail, "part": part}, **common)
            self.subscription_discounts(sub, item, list_amount, segment_id, part, part_start, part_end, part_tags, common)

    def changed_mid_period(self, item: Mapping[str, Any], start: date, period_end: date | None) -> date | None:
        """The day within the current period the item took its present price or quantity, if a
        proration line or an update event says so; what was billed before holds until then."""
        def matches(row: Mapping[str, Any]) -> bool:
            return (row["subscription_item_id"], row["plan_id"], row["quantity"]) == (
                item["id"], item["plan_id"], item["quantity"])

        candidates = [_day(line["period_start_at"]) for line in self.lines
                      if line["kind"] == "proration" and line["amount_minor"] > 0 and matches(line)]
        candidates += [_day(change["changed_at"]) for change in self.changes if matches(change)]
        days = [d for d in candidates if d is not None and start < d and (period_end is None or d < period_end)]
        return max(days) if days else None

    def past_due_since(self, subscription_id: str) -> str | None:
        open_days = [_day(i["created_at"]) for i in self.invoices.values()
                     if i["subscription_id"] == subscription_id and i["status"] == "open" and i["created_at"]]
        return min(open_days).isoformat() if open_days else None

    def current_invoice_refunded(self, item: Mapping[str, Any], start: date) -> bool:
        for line in self.lines:
            invoice = self.invoices.get(line["invoice_id"])
            if (invoice and line["kind"] == "recurring" and _day(line["period_start_at"]) == start
                    and line["subscription_id"] == item["subscription_id"]
                    and line["subscription_item_id"] in (item["id"], None)
                    and "refunded_full" in self.invoice_tags(invoice)):
                return True
        return False

    def subscription_discounts(self, sub, item, list_amount, parent_id, part, start, end, tags, common) -> None:
        ids = json.loads(item["discount_ids"] or "[]") + json.loads(sub["discount_ids"] or "[]")
        discounts = [self.discounts[i] for i in ids if i in self.discounts]
        if not ids:   # a customer-level discount applies to subscriptions without their own
            discounts = [d for d in self.discounts.values()
                         if not d["subscription_id"] and not d["invoice_id"] and not d["subscription_item_id"]]
        if not discounts:
            return
        sub_total = sum(
            int(gross_amount(self.plans[i["plan_id"]], i["quantity"]) or 0)
            for i in self.items if i["subscription_id"] == sub["id"] and i["plan_id"] in self.plans)
        item_share = Fraction(list_amount, sub_total) if sub_total else Fraction(1)
        for discount, amount in discount_amounts(list_amount, item_share, discounts, common["currency"]):
            duration = discount.get("duration") or "unknown"
            began = _day(discount["start_at"])
            if duration == "once" and (part != "current" or (began is not None and began < start - timedelta(days=1))):
                continue   # a once discount is spent on the first invoice after it was applied
            d_start = max(start, _day(discount["start_at"]) or start)
            d_end = end if discount["end_at"] is None else min(end or _day(discount["end_at"]), _day(discount["end_at"]))
            if amount == 0 or (d_end is not None and d_end <= d_start):
                continue
            self.piece(segment_id=f"item_discount:{item['id']}:{discount['id']}:{part}", source_type="discount",
                       source_id=discount["id"], amount_minor=-amount, start=d_start, end=d_end,
                       tags=[*tags, "discount", f"discount:{duration}"],
                       detail={"parent": parent_id, "discount": discount["id"], "coupon": discount["coupon_id"],
                               "subscription_item": item["id"]}, **common)
