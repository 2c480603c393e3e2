"""A customer's lines each take their own subscription's and invoice's facts: the segment builder
works them out once per subscription and per invoice, and must never hand one line another's
(a trial, an end, a refund)."""

from __future__ import annotations

import json

from connector.mrr.model import SEGMENTS_TABLE
from tests.support.stripe_objects import (
    charge, customer, invoice, item, line, load, price, refund, segments_for, subscription, table, ts,
)

MONTHLY = price("price_m", 10000)


def test_each_line_gets_its_own_subscriptions_trial_and_end_and_its_own_invoices_refund(store):
    ended_trial = subscription("sub_a", items=[item("si_a", MONTHLY, start="2025-02-01", end="2025-03-01",
                                                    subscription="sub_a")],
                               status="canceled", trial_start=ts("2025-01-01"), trial_end=ts("2025-01-15"),
                               canceled_at=ts("2025-02-10"), ended_at=ts("2025-02-10"))
    plain = subscription("sub_b", items=[item("si_b", MONTHLY, start="2025-02-01", end="2025-03-01",
                                              subscription="sub_b")])
    invoices = [
        invoice(f"in_{sub}{month}", [line(f"il_{sub}{month}", f"in_{sub}{month}", "price_m", 10000,
                                          f"2025-0{month}-01", f"2025-0{month + 1}-01", subscription=f"sub_{sub}",
                                          subscription_item=f"si_{sub}")],
                subscription=f"sub_{sub}", created=f"2025-0{month}-01", charge=f"ch_{sub}{month}")
        for sub in "ab" for month in (1, 2)]
    load(store, customers=[customer()], prices=[MONTHLY], subscriptions=[ended_trial, plain], invoices=invoices,
         charges=[charge(f"ch_{sub}{month}", 10000) for sub in "ab" for month in (1, 2)],
         refunds=[refund("re_1", "ch_b2", 10000)])
    segments_for(store)
    lines = {row["source_id"]: (json.loads(row["tags"]), json.loads(row["detail"]))
             for row in table(store, SEGMENTS_TABLE) if row["source_type"] == "invoice_line"}
    trialing = {source for source, (tags, _) in lines.items() if "trialing" in tags}
    ended = {source: detail["subscription_ended"] for source, (_, detail) in lines.items()}
    refunded = {source for source, (tags, _) in lines.items() if "refunded_full" in tags}
    assert trialing == {"il_a1"}
    assert ended == {"il_a1": "2025-02-10", "il_a2": "2025-02-10", "il_b1": None, "il_b2": None}
    assert refunded == {"il_b2"}
