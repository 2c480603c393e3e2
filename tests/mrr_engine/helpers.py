"""Stand-ins for the policy module while it is built separately: a duck-typed
policy and a segment source that applies no rule but the interval normalisation
(enough for imported periods and hand-built segments)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from connector.mrr.model import Segment, monthly_minor, read_segment_rows


@dataclass(frozen=True)
class FakePolicy:
    name: str = "default"
    reactivation_min_gap_days: int = 0
    same_month_new_churn_ignored: bool = False
    past_due_auto_churn_days: int | None = None
    include_usage_in_mrr: bool = False

    def fingerprint(self) -> str:
        return f"{self.name}:{self.reactivation_min_gap_days}:{self.same_month_new_churn_ignored}:{self.include_usage_in_mrr}"


def stored_segments(store, policy, customer_ids):
    """Stored segment rows as Segments, each normalised to a month, nothing dropped."""
    segments = []
    for row in read_segment_rows(store, customer_ids):
        segments.append(
            Segment(
                customer_id=row["customer_id"],
                currency=row["currency"],
                start=date.fromisoformat(row["start_date"]),
                end=date.fromisoformat(row["end_date"]) if row["end_date"] else None,
                mrr_minor=monthly_minor(row["amount_minor"], row["interval"], row["interval_count"]),
                series=row["series"],
                source_type=row["source_type"],
                source_id=row["source_id"],
                subscription_id=row["subscription_id"],
                cause="",
                detail=json.loads(row["detail"]),
            )
        )
    return segments


def seg(customer, start, end, mrr, *, currency="usd", sub="sub_1", source=None, source_type="subscription_item", cause=""):
    return Segment(
        customer_id=customer,
        currency=currency,
        start=date.fromisoformat(start),
        end=date.fromisoformat(end) if end else None,
        mrr_minor=mrr,
        source_type=source_type,
        source_id=source or f"si_{customer}_{start}",
        subscription_id=sub,
        cause=cause,
    )
