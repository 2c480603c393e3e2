"""MRR segments for the engine tests, without the mapping or the rules.

A duck-typed policy, a segment source that applies no rule but the interval
normalisation (enough for imported periods and hand-built segments), segments
built by hand (``seg``) and imported periods written to a store (``write``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from connector.mrr.model import Segment, monthly_minor, read_segment_rows, segment_row, write_customer_segments

PERIODS_START = date(2023, 1, 1)  # day 0 of the periods ``write`` takes


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


def write(store, customer_id, periods):
    """Store a customer's imported segments from (start offset in days, length or None, monthly minor, currency)."""
    rows = [
        segment_row(
            segment_id=f"{customer_id}:{index}",
            provider="import",
            customer_id=customer_id,
            source_type="import",
            source_id=f"{customer_id}:{index}",
            subscription_id=f"sub_{customer_id}_{index % 2}",
            currency=currency,
            start=PERIODS_START + timedelta(days=offset),
            end=None if length is None else PERIODS_START + timedelta(days=offset + length),
            amount_minor=amount,
        )
        for index, (offset, length, amount, currency) in enumerate(periods)
    ]
    write_customer_segments(store, "import", customer_id, rows)
