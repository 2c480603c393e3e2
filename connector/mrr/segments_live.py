"""The present: a live subscription's items as stored segments, split where a rule may act.

Mixed into the per-customer segment builder (``segments._CustomerSegments``).
An item gives a ``current`` piece (its current period, from the day within it
the item took its present price or quantity) and a ``renewal`` piece (after the
period end). Each piece is split where its tags change:

* at ``trial_end``: the part before is ``trialing`` whatever the status is now,
  so a trial canceled before it converted never had MRR, and a paid part
  starting at ``trial_end`` is tagged ``trial_converted``;
* on the day an ``unpaid`` subscription became unpaid (see ``unpaid_since``):
  the part before keeps counting as ``past_due``.

Discounts follow what was invoiced: a discount active when a period's invoice
was made lowers that whole period (a 3-month repeating coupon on an annual plan
discounts the whole year), so it holds until the first period boundary on or
after its end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..values import epoch_to_date
from .segments_pricing import discount_amounts, gross_amount

SUBSCRIPTION_STATUS_TAGS = {"trialing", "past_due", "unpaid", "incomplete", "incomplete_expired", "paused"}
KNOWN_STATUSES = SUBSCRIPTION_STATUS_TAGS | {"active", "canceled"}
ENDED_STATUSES = ("canceled", "incomplete_expired")


# Stripe keeps events for 30 days. A change an event dates counts from that day only while the event
# is among the last full 28 days before the as-of day: a fresh sync at any hour of that day still
# reads it, so a fresh store and one synced nightly for years date the same changes the same way.
EVENT_WINDOW_DAYS = 28


def dated_changes_window(as_of: date) -> tuple[int, int]:
    """[from, until) epoch seconds of the recorded changes that date anything as of ``as_of``."""
    midnight = int(datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc).timestamp())
    return midnight - EVENT_WINDOW_DAYS * 86_400, midnight + 86_400


@lru_cache(maxsize=4096, typed=True)
def day_of(epoch: int | None) -> date | None:
    """The UTC day of an epoch; OutOfRange (a ValueError) past year 9999 (raised at each call: an
    exception is not cached). Cached: each item of a customer asks again for the days of every
    line of the customer (600,000 calls for 71,000 segments at 2,000 customers)."""
    return epoch_to_date(epoch) if epoch is not None else None


def add_interval(day: date, interval: str, count: int) -> date:
    """``day`` moved on by ``count`` billing intervals (a month keeps its day, clamped to the month's end)."""
    if interval == "day":
        return day + timedelta(days=count)
    if interval == "week":
        return day + timedelta(weeks=count)
    months = count * (12 if interval == "year" else 1)
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def period_boundary_on_or_after(period_start: date, interval: str, count: int, day: date) -> date:
    """The first billing-period boundary (period_start + k intervals, k ≥ 0) on or after ``day``."""
    boundary, k = period_start, 0
    while boundary < day:
        k += 1
        boundary = add_interval(period_start, interval, k * count)
    return boundary


def _split(parts: list[tuple[str, date, date | None, tuple[str, ...]]], at: date | None, before_tag: str,
           after_tag: str | None) -> list[tuple[str, date, date | None, tuple[str, ...]]]:
    """Parts cut at ``at``: the side before gets ``before_tag``, the side after ``after_tag``."""
    if at is None:   # nothing dates the change: the whole span is after it
        return [(name, start, end, (*tags, after_tag) if after_tag else tags) for name, start, end, tags in parts]
    out = []
    for name, start, end, tags in parts:
        if end is not None and end <= at:
            out.append((name, start, end, (*tags, before_tag)))
        elif at <= start:
            out.append((name, start, end, (*tags, after_tag) if after_tag else tags))
        else:
            out.append((f"{name}:{before_tag}", start, at, (*tags, before_tag)))
            out.append((name, at, end, (*tags, after_tag) if after_tag else tags))
    return out


class LiveSubscriptionPieces:
    """The ``subscription_item`` pieces of one customer (needs the builder's rows and ``piece``)."""

    def subscription_item(self, item: Mapping[str, Any]) -> None:
        sub = self.subscriptions.get(item["subscription_id"])
        plan = self.plans.get(item["plan_id"])
        if plan is not None and plan.get("usage_type") == "metered":
            return   # metered items are billed from usage: the invoice lines carry them
        period_start, period_end = day_of(item["current_period_start_at"]), day_of(item["current_period_end_at"])
        gross = gross_amount(plan, item["quantity"]) if plan is not None else None
        problem = ("its subscription is not in the store" if sub is None
                   else "its price is not in the store" if plan is None
                   else "its price has no billing interval" if not plan.get("interval")
                   else "it has no current period" if period_start is None
                   else "its price's amount is not known (tiers or unit amount missing)" if gross is None else None)
        if problem:
            if sub is None or sub["status"] not in ENDED_STATUSES:
                self.unplace("subscription_item", item["id"], f"subscription item: {problem}",
                             int(gross) if gross is not None else None, (sub or {}).get("currency"))
            return
        start = self.present_price_since(item, period_start, period_end)
        if self.free_until_anchor(sub, item):
            start = max(start, period_end)
        status = sub["status"]
        end = None
        if status in ENDED_STATUSES:
            end = day_of(sub["ended_at"] or sub["canceled_at"] or sub["current_period_end_at"])
        elif sub["cancel_at_period_end"]:
            end = period_end
        elif sub["cancel_at"]:
            end = day_of(sub["cancel_at"])
        if end is not None and end <= start:
            return
        share = self.net_share(plan, item)
        list_amount = int(round(gross * share)) if share is not None else int(round(gross))
        tags = ["subscription_basis"]
        if status in SUBSCRIPTION_STATUS_TAGS - {"trialing", "unpaid"}:
            tags.append(status)
        elif status not in KNOWN_STATUSES:
            tags.append("status:unknown")
        if sub["pause_behavior"]:
            tags.append("pause_collection")
        pending_cancel = status not in ENDED_STATUSES and (sub["cancel_at_period_end"] or sub["cancel_at"])
        if pending_cancel:
            tags.append("pending_cancel")
        if sub["canceled_at"]:
            tags.append("cancel_requested")
        if plan.get("tax_behavior") == "inclusive" and share is None:
            tags.append("tax_unknown")
        detail = {
            "subscription_item": item["id"], "price": item["plan_id"], "quantity": item["quantity"],
            "slot": item["id"], "status": status,
            "canceled_at": day_of(sub["canceled_at"]).isoformat() if sub["canceled_at"] else None,
            "past_due_since": self.past_due_since(sub["id"]) if status in ("past_due", "unpaid") else None,
        }
        current_end = end if period_end is None or (end is not None and end <= period_end) else period_end
        parts: list[tuple[str, date, date | None, tuple[str, ...]]] = [("current", start, current_end, ())]
        if period_end is not None and (end is None or end > period_end):
            parts.append(("renewal", period_end, end, ()))
        parts = [p for p in parts if p[2] is None or p[2] > p[1]]
        parts = self.trial_parts(sub, parts)
        if status == "unpaid":
            parts = _split(parts, self.unpaid_since(sub), "past_due", "unpaid")
        common = dict(currency=sub["currency"] or plan["currency"], interval=plan["interval"],
                      interval_count=plan["interval_count"] or 1, subscription_id=sub["id"])
        for part, part_start, part_end, extra in parts:
            part_tags = [*tags, *extra]
            if part == "current" and self.current_invoice_refunded(item, part_start):
                part_tags.append("refunded_full")
            segment_id = f"item:{item['id']}:{part}"
            self.piece(segment_id=segment_id, source_type="subscription_item", source_id=item["id"],
                       amount_minor=list_amount, start=part_start, end=part_end, tags=part_tags,
                       detail={**detail, "part": part, "period_start": period_start.isoformat()}, **common)
            self.subscription_discounts(sub, item, list_amount, segment_id, part, part_start, part_end, part_tags,
                                        period_start, common)

    def trial_parts(self, sub: Mapping[str, Any], parts: list) -> list:
        """Split at the trial's end: before it ``trialing`` (no MRR by default), from it ``trial_converted``."""
        trial_start, trial_end = day_of(sub["trial_start_at"]), day_of(sub["trial_end_at"])
        if trial_end is None:
            if sub["status"] == "trialing":   # a trial whose end Stripe did not give: the whole current period
                return [(n, s, e, (*t, "trialing") if n == "current" else t) for n, s, e, t in parts]
            return parts
        out = []
        for name, start, end, tags in parts:
            if trial_start is not None and start < trial_start and (end is None or end > trial_start):
                out.append((f"{name}:before_trial", start, trial_start, tags))
                start = trial_start
            if end is not None and end <= trial_end:
                out.append((f"{name}:trial", start, end, (*tags, "trialing")))
            elif start >= trial_end:
                out.append((name, start, end, (*tags, "trial_converted") if start == trial_end else tags))
            else:
                out.append((f"{name}:trial", start, trial_end, (*tags, "trialing")))
                out.append((name, trial_end, end, (*tags, "trial_converted")))
        return out

    def unpaid_since(self, sub: Mapping[str, Any]) -> date | None:
        """The day the subscription became unpaid: from the status change an event recorded; else
        (Stripe keeps no date) the end of the service period its oldest unpaid invoice billed —
        until then it was past due. None: nothing says when (the whole span is unpaid)."""
        changes = sorted((c for c in self.changes if c["subscription_id"] == sub["id"] and c.get("status")),
                         key=lambda c: (c["changed_at"] or 0, c["id"]))
        since = None
        for change in changes:
            if change["status"] == "unpaid" and change.get("previous_status") != "unpaid":
                since = day_of(change["changed_at"])
            elif change["status"] not in ("unpaid", "canceled"):
                since = None
        if since is not None:
            return since
        failed = [i for i in self.invoices.values()
                  if i["subscription_id"] == sub["id"] and i["status"] in ("open", "uncollectible")]
        ends = [day_of(line["period_end_at"]) for line in self.lines if line["kind"] == "recurring"
                and line["invoice_id"] in {i["id"] for i in failed} and line["period_end_at"]]
        return min(ends) if ends else None

    def free_until_anchor(self, sub: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
        """Whether the item's current period is the free span before a future ``billing_cycle_anchor``:
        a subscription created with ``proration_behavior=none`` is billed nothing until its anchor
        ("the initial period up to the first full invoice date for free"), so it has MRR from the
        anchor on. The span is the current period when it ends at the anchor (no trial) and no invoice
        line billed it; a prorated first invoice (the default) bills it, and it counts."""
        anchor, period_end = sub.get("billing_cycle_anchor_at"), item["current_period_end_at"]
        if anchor is None or anchor != period_end or sub["trial_end_at"] is not None:
            return False
        start = item["current_period_start_at"]
        return not any(line["kind"] in ("recurring", "proration")
                       and line["amount_minor"] and (line["period_start_at"] or 0) < period_end
                       and (line["period_end_at"] or 0) > start for line in self.lines_of_subscription.get(sub["id"], ()))

    def present_price_since(self, item: Mapping[str, Any], period_start: date, period_end: date | None) -> date:
        """The day the item's present price and quantity hold from, never backdated to its period start:

        1. the day a proration line or a kept event (Stripe's 30 days) shows the change;
        2. the item's creation, when it was added within the period;
        3. else, when the invoice that opened the period billed another price or quantity for
           the item (a change with no proration and no kept event: Stripe keeps no date), the
           period end: the first invoice to bill the present price;
        4. else the period start.
        """
        changed = self.changed_mid_period(item, period_start, period_end)
        if changed is not None:
            return changed
        created = day_of(item["created_at"])
        if created is not None and period_start < created and (period_end is None or created < period_end):
            return created
        opening = self.opening_lines(item, period_start)
        if period_end is not None and opening and all(
                (line["plan_id"], line["quantity"]) != (item["plan_id"], item["quantity"]) for line in opening):
            return period_end
        return period_start

    def opening_lines(self, item: Mapping[str, Any], period_start: date) -> list[Mapping[str, Any]]:
        """The item's recurring lines whose service period starts on ``period_start``."""
        return [line for line in self.lines_of_item.get(item["id"], ()) if line["kind"] == "recurring"
                and day_of(line["period_start_at"]) == period_start]

    def changed_mid_period(self, item: Mapping[str, Any], start: date, period_end: date | None) -> date | None:
        """The day within the current period the item took its present price or quantity, if a
        proration line or an update event says so; what was billed before holds until then."""
        def matches(row: Mapping[str, Any]) -> bool:
            return (row["subscription_item_id"], row["plan_id"], row["quantity"]) == (
                item["id"], item["plan_id"], item["quantity"])

        candidates = [day_of(line["period_start_at"]) for line in self.lines_of_item.get(item["id"], ())
                      if line["kind"] == "proration" and line["amount_minor"] > 0 and matches(line)]
        candidates += [day_of(change["changed_at"]) for change in self.changes
                       if change["subscription_item_id"] and matches(change)]
        days = [d for d in candidates if d is not None and start < d and (period_end is None or d < period_end)]
        return max(days) if days else None

    def opening_line_discounts(self, item: Mapping[str, Any], period_start: date) -> list[str]:
        """Ids of the discounts on the recurring invoice line that billed the item's current period."""
        ids: list[str] = []
        for line in self.opening_lines(item, period_start):
            ids += [entry["discount"] for entry in json.loads(line["discount_amounts"] or "[]")
                    if entry.get("discount") and entry["discount"] not in ids]
        return ids

    def past_due_since(self, subscription_id: str) -> str | None:
        open_days = [day_of(i["created_at"]) for i in self.invoices.values()
                     if i["subscription_id"] == subscription_id and i["status"] == "open" and i["created_at"]]
        return min(open_days).isoformat() if open_days else None

    def current_invoice_refunded(self, item: Mapping[str, Any], start: date) -> bool:
        for line, invoice in self.recurring_lines_from().get((item["subscription_id"], start), ()):
            if line["subscription_item_id"] in (item["id"], None) and "refunded_full" in self.invoice_tags(invoice):
                return True
        return False

    def recurring_lines_from(self) -> dict[tuple[Any, date | None], list[tuple[Mapping[str, Any], Mapping[str, Any]]]]:
        """(line, its invoice) of the recurring lines on a stored invoice, by (subscription id, the day their
        service period starts), in the order of ``lines``: each part of each live item asks for its own."""
        def index() -> dict:
            found: dict[tuple[Any, date | None], list] = {}
            for line in self.lines:
                invoice = self.invoices.get(line["invoice_id"])
                if invoice and line["kind"] == "recurring":
                    found.setdefault((line["subscription_id"], day_of(line["period_start_at"])), []).append((line, invoice))
            return found
        return self._once(("recurring_lines_from", None), index)

    def subscription_discounts(self, sub, item, list_amount, parent_id, part, start, end, tags, period_start,
                               common) -> None:
        ids = json.loads(item["discount_ids"] or "[]") + json.loads(sub["discount_ids"] or "[]")
        if part.startswith("current"):
            # the invoice that opened the period was discounted by it: the whole period is, even once
            # Stripe has taken an ended repeating discount off the subscription
            ids += [i for i in self.opening_line_discounts(item, period_start) if i not in ids]
        discounts = [self.discounts[i] for i in ids if i in self.discounts]
        if not ids:   # a customer-level discount applies to subscriptions without their own
            discounts = [d for d in self.discounts.values()
                         if not d["subscription_id"] and not d["invoice_id"] and not d["subscription_item_id"]]
        if not discounts:
            return
        sub_total = self._once(("list_total", sub["id"]), lambda: sum(
            int(gross_amount(self.plans[i["plan_id"]], i["quantity"]) or 0)
            for i in self.items if i["subscription_id"] == sub["id"] and i["plan_id"] in self.plans))
        item_share = Fraction(list_amount, sub_total) if sub_total else Fraction(1)
        interval, count = common["interval"], common["interval_count"]
        for discount, amount in discount_amounts(list_amount, item_share, discounts, common["currency"]):
            duration = discount.get("duration") or "unknown"
            began, ends = day_of(discount["start_at"]), day_of(discount["end_at"])
            if duration == "once" and (not part.startswith("current")
                                       or (began is not None and began < start - timedelta(days=1))):
                continue   # a once discount is spent on the first invoice after it was applied
            d_start = max(start, began or start)
            # invoiced periods are discounted whole: the discount lasts to the boundary after its end
            d_end = end if ends is None else period_boundary_on_or_after(period_start, interval, count, ends)
            if ends is not None and end is not None:
                d_end = min(d_end, end)
            if amount == 0 or (d_end is not None and d_end <= d_start):
                continue
            self.piece(segment_id=f"item_discount:{item['id']}:{discount['id']}:{part}", source_type="discount",
                       source_id=discount["id"], amount_minor=-amount, start=d_start, end=d_end,
                       tags=[*tags, "discount", f"discount:{duration}"],
                       detail={"parent": parent_id, "discount": discount["id"], "coupon": discount["coupon_id"],
                               "subscription_item": item["id"]}, **common)
