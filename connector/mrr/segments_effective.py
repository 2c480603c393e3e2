"""A policy applied to the stored segments: monthly amounts, no network, no re-mapping.

This is how ``--policy NAME`` works on the fly. Steps, per customer:

1. base pieces (subscription items, invoice lines) are kept, cut or dropped by
   the tags the policy rules on;
2. one basis per subscription: under ``revenue_basis = "subscription"`` invoice
   lines end where the live subscription's pieces begin (per item, else per
   subscription); under ``"invoice"`` the subscription's pieces begin where its
   last invoiced service period ends — a span is never counted twice;
3. discount pieces follow their parent's span and count only for the policy's
   discount durations;
4. each piece's billing-period amount is normalised to a month, rounded once
   (connector.mrr.model.monthly_minor); zero pieces are left out.

Metered usage stays in its own ``usage`` series; ``include_usage_in_mrr`` is
applied by the engine (connector.mrr.ledger.mrr_segments), so both series stay
visible to reports and explain.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from fractions import Fraction
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from ..store import jsontext
from .model import Segment, monthly_minor, read_segment_values
from .policy import Policy

_DROPPING_TAGS = {
    "trialing": lambda p: not p.trials_count,
    "past_due": lambda p: not p.past_due_counts,
    "unpaid": lambda p: not p.unpaid_counts,
    "incomplete": lambda p: not p.incomplete_counts,
    "incomplete_expired": lambda p: not p.incomplete_counts,
    "paused": lambda p: not p.paused_counts,
    "pause_collection": lambda p: not p.paused_counts,
    "status:unknown": lambda p: not p.unknown_status_counts,
    "refunded_full": lambda p: p.full_refund_is_unpaid,
    "proration": lambda p: not p.prorations_mark_price_changes,
}


@lru_cache(maxsize=4096)
def _tag_set(text: str) -> frozenset[str]:
    """A stored tags text as a set: a few dozen texts serve every segment of an account."""
    return frozenset(jsontext.loads(text))


def _parse(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "start": date.fromisoformat(row["start_date"]),
        "end": date.fromisoformat(row["end_date"]) if row["end_date"] else None,
        "tags": _tag_set(row["tags"]),
        "detail": jsontext.loads(row["detail"]),
    }


# What the policy reads of a stored segment (``detail`` as the bytes the parser reads), in the
# order :func:`_piece` takes them: :func:`effective_segments` reads only these.
_PIECE_COLUMNS = ("segment_id", "customer_id", "subscription_id", "source_type", "source_id", "series", "currency",
                  "start_date", "end_date", "amount_minor", "interval", "interval_count", "tags",
                  "CAST(detail AS BLOB)")


def _piece(values: tuple) -> dict[str, Any]:
    """:func:`_parse` of a row read as :data:`_PIECE_COLUMNS`, without the row's dict and its copy."""
    (segment_id, customer_id, subscription_id, source_type, source_id, series, currency, start_date, end_date,
     amount_minor, interval, interval_count, tags, detail) = values
    return {
        "segment_id": segment_id, "customer_id": customer_id, "subscription_id": subscription_id,
        "source_type": source_type, "source_id": source_id, "series": series, "currency": currency,
        "amount_minor": amount_minor, "interval": interval, "interval_count": interval_count,
        "start": date.fromisoformat(start_date),
        "end": date.fromisoformat(end_date) if end_date else None,
        "tags": _tag_set(tags),
        "detail": jsontext.loads(detail),
    }


def _before(a: date | None, b: date | None) -> date | None:
    """The earlier of two ends, None meaning open-ended."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _dropped_by(policy: Policy) -> frozenset[str]:
    """The tags whose pieces ``policy`` leaves out: those its rules drop, and its excluded invoice statuses."""
    return frozenset({tag for tag, rule in _DROPPING_TAGS.items() if rule(policy)}
                     | {f"invoice:{status}" for status in policy.excluded_invoice_statuses})


def _policy_end(piece: Mapping[str, Any], policy: Policy) -> date | None:
    end = piece["end"]
    detail = piece["detail"]
    requested = {"pending_cancel", "cancel_requested"} & piece["tags"]
    if requested and policy.cancel_at_period_end_churn == "request" and detail.get("canceled_at"):
        end = _before(end, date.fromisoformat(detail["canceled_at"]))
    if "past_due" in piece["tags"] and policy.past_due_auto_churn_days is not None and detail.get("past_due_since"):
        end = _before(end, date.fromisoformat(detail["past_due_since"]) + timedelta(days=policy.past_due_auto_churn_days))
    return end


def _superseded_lines(invoiced: list[dict[str, Any]]) -> None:
    """A billed period cut short by a later one of the same item (the billing cycle restarted at a change,
    ``billing_cycle_anchor=now`` or a new interval): the old line ends where the new one starts, unless a
    proration credit of the old price starts there too (then the credit already takes it back)."""
    by_slot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for piece in invoiced:
        by_slot[piece["detail"].get("slot")].append(piece)
    for pieces in by_slot.values():
        billed = [p for p in pieces if "proration" not in p["tags"]]
        credits = {p["start"] for p in pieces if "proration" in p["tags"] and p["amount_minor"] < 0}
        starts = sorted({p["start"] for p in billed})
        for piece in billed:
            # the earliest later start, if within the piece (a slot can hold years of monthly lines)
            at = bisect_right(starts, piece["start"])
            if at < len(starts):
                later = starts[at]
                if (piece["end"] is None or later < piece["end"]) and later not in credits:
                    piece["end"] = later


def _resolve_bases(bases: list[dict[str, Any]], policy: Policy) -> None:
    """Cut invoice and subscription pieces so that one basis holds per subscription and day."""
    live = [p for p in bases if p["source_type"] == "subscription_item"]
    invoiced = [p for p in bases if p["source_type"] == "invoice_line" and p["series"] == "mrr"]
    _superseded_lines(invoiced)
    if policy.revenue_basis == "subscription":
        by_slot: dict[str, date] = {}
        for piece in live:
            if piece["detail"].get("part", "").startswith("current"):
                slot = piece["detail"]["slot"]
                by_slot[slot] = min(by_slot.get(slot, piece["start"]), piece["start"])
        by_subscription: dict[str, date] = {}
        for piece in live:
            sub = piece["subscription_id"]
            by_subscription[sub] = min(by_subscription.get(sub, piece["start"]), piece["start"])
        for piece in invoiced:
            cut = by_slot.get(piece["detail"].get("slot")) or by_subscription.get(piece["subscription_id"])
            if cut is not None:
                piece["end"] = _before(piece["end"], cut)
            if piece["detail"].get("subscription_ended"):   # canceled at once or unpaid: churn then
                piece["end"] = _before(piece["end"], date.fromisoformat(piece["detail"]["subscription_ended"]))
    else:
        billed_until: dict[str, date] = {}
        for piece in invoiced:
            sub = piece["subscription_id"]
            if sub and piece["end"] and "proration" not in piece["tags"]:
                billed_until[sub] = max(billed_until.get(sub, piece["end"]), piece["end"])
        for piece in live:
            if piece["subscription_id"] in billed_until:
                piece["start"] = max(piece["start"], billed_until[piece["subscription_id"]])


def _refund_scale(piece: Mapping[str, Any], policy: Policy) -> Fraction | int:
    """The share of a piece's amount its invoice kept: 1 (an int: every piece of a refresh asks,
    and a Fraction costs microseconds to make and to compare) unless a partial refund or a credit
    reduces it under the policy."""
    detail = piece["detail"]
    paid = detail.get("amount_paid") or 0
    if not policy.partial_refund_reduces_mrr or not paid or piece["tags"].isdisjoint(_REDUCING_TAGS):
        return 1
    kept = paid - (detail.get("amount_refunded") or 0) - (detail.get("amount_credited") or 0)
    return Fraction(max(kept, 0), paid)


_REDUCING_TAGS = frozenset({"refunded_partial", "credited"})


def apply_policy(rows: list[dict[str, Any]], policy: Policy) -> list[Segment]:
    """One customer's stored segment rows with ``policy`` applied."""
    return _applied([_parse(r) for r in rows], policy, _Rules(policy))


class _Rules:
    """What applying ``policy`` asks of it for every piece, worked out once per call."""

    def __init__(self, policy: Policy):
        self.dropped = _dropped_by(policy)
        self.reducing = set(policy.discount_durations_reducing_mrr)
        self.factors = policy.interval_factors   # a property: a new dict each time it is read


def _applied(pieces: list[dict[str, Any]], policy: Policy, rules: _Rules) -> list[Segment]:
    """:func:`apply_policy` of one customer's parsed pieces (``_parse`` or ``_piece``)."""
    bases = [p for p in pieces if p["source_type"] != "discount"]
    _resolve_bases(bases, policy)   # before the policy drops any: a dropped trial still holds its span
    spans: dict[str, dict[str, Any]] = {}
    dropped = rules.dropped
    for piece in bases:
        if piece["tags"].isdisjoint(dropped):
            piece["end"] = _policy_end(piece, policy)
            if piece["end"] is None or piece["end"] > piece["start"]:
                spans[piece["segment_id"]] = piece
    reducing = rules.reducing
    out: list[Segment] = []
    for piece in pieces:
        if piece["source_type"] == "discount":
            parent = spans.get(piece["detail"].get("parent"))
            duration = next((t.split(":", 1)[1] for t in piece["tags"] if t.startswith("discount:")), "unknown")
            counts = duration in reducing or (duration == "unknown" and policy.unknown_discounts_reduce_mrr)
            if parent is None or not counts:
                continue
            start, end = max(piece["start"], parent["start"]), _before(piece["end"], parent["end"])
            if end is not None and end <= start:
                continue
            scale, cause = _refund_scale(parent, policy), f"discount:{duration}"
        elif piece["segment_id"] in spans:
            start, end, scale = piece["start"], piece["end"], _refund_scale(piece, policy)
            cause = ("proration" if "proration" in piece["tags"]
                     else "trial_conversion" if "trial_converted" in piece["tags"] else "plan")
        else:
            continue
        amount = piece["amount_minor"] if scale == 1 else round(piece["amount_minor"] * scale)
        mrr = monthly_minor(amount, piece["interval"], piece["interval_count"], rules.factors)
        if mrr == 0:
            continue
        out.append(Segment(
            customer_id=piece["customer_id"], currency=piece["currency"], start=start, end=end, mrr_minor=mrr,
            series=piece["series"], source_type=piece["source_type"], source_id=piece["source_id"],
            subscription_id=piece["subscription_id"], cause=cause,
            detail={**piece["detail"], "segment_id": piece["segment_id"], "tags": sorted(piece["tags"]),
                    "amount_minor": piece["amount_minor"], "interval": piece["interval"],
                    "interval_count": piece["interval_count"], "policy": policy.name},
        ))
    return out


_CUSTOMER = itemgetter(_PIECE_COLUMNS.index("customer_id"))


def effective_segments(store, policy: Policy, customer_ids: Iterable[str] | None = None) -> list[Segment]:
    """The stored segments with ``policy`` applied, ordered by customer, start, source.

    Same as :func:`apply_policy` over each customer's :func:`~.model.read_segment_rows`, customers
    in order (the rows come ordered by customer): the refresh applies the policy to every segment it
    wrote, so the rows are read as tuples of the columns the policy reads."""
    rules = _Rules(policy)
    out: list[Segment] = []
    for _customer_id, values in groupby(read_segment_values(store, customer_ids, _PIECE_COLUMNS), _CUSTOMER):
        out += _applied([_piece(v) for v in values], policy, rules)
    return sorted(out, key=lambda s: (s.customer_id, s.start, s.source_type, s.source_id, s.cause))
