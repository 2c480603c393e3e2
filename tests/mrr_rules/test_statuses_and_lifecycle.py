"""Rules: trials, unpaid/incomplete/paused, past_due, scheduled cancellations, invoice basis."""

from __future__ import annotations

import pytest

from tests.support.stripe_objects import (
    customer, invoice, item, line, load, mrr_on, price, segments_for, subscription, ts,
)

MONTHLY = price("price_m", 10000)


def monthly(store, *, status="active", start="2025-03-01", end="2025-04-01", invoices=(), **extra):
    load(store, customers=[customer()], prices=[MONTHLY], subscriptions=[subscription(
        items=[item("si_1", MONTHLY, start=start, end=end)], status=status, **extra)], invoices=list(invoices))


def test_trial_has_no_mrr_until_the_first_paid_period(store):
    monthly(store, status="trialing", start="2025-03-01", end="2025-03-15",
            trial_start=ts("2025-03-01"), trial_end=ts("2025-03-15"))
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-03-10"), mrr_on(segments, "2025-03-20")) == (0, 10000)
    assert mrr_on(segments_for(store, overrides={"trials_count": True}), "2025-03-10") == 10000


@pytest.mark.parametrize("status", ["unpaid", "incomplete", "incomplete_expired", "paused"])
def test_statuses_without_mrr(store, status):
    extra = {"ended_at": ts("2025-03-31")} if status == "incomplete_expired" else {}
    monthly(store, status=status, **extra)
    assert mrr_on(segments_for(store), "2025-03-15") == 0


def test_pause_collection_has_no_mrr_while_paused(store):
    monthly(store, pause_collection={"behavior": "void", "resumes_at": None})
    assert mrr_on(segments_for(store), "2025-03-15") == 0
    assert mrr_on(segments_for(store, overrides={"paused_counts": True}), "2025-03-15") == 10000


def test_past_due_counts_and_can_auto_churn_after_n_days(store):
    open_invoice = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")],
                           status="open", created="2025-03-01")
    monthly(store, status="past_due", invoices=[open_invoice])
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-03-20"), mrr_on(segments, "2025-05-01")) == (10000, 10000)
    auto = segments_for(store, overrides={"past_due_auto_churn_days": 14})
    assert (mrr_on(auto, "2025-03-14"), mrr_on(auto, "2025-03-15")) == (10000, 0)


def test_cancel_at_period_end_keeps_mrr_until_the_period_ends(store):
    monthly(store, cancel_at_period_end=True, canceled_at=ts("2025-03-10"))
    segments = segments_for(store)
    assert (mrr_on(segments, "2025-03-31"), mrr_on(segments, "2025-04-01")) == (10000, 0)


def test_stripe_preset_removes_mrr_at_the_cancellation_request(store):
    monthly(store, cancel_at_period_end=True, canceled_at=ts("2025-03-10"))
    segments = segments_for(store, "stripe")
    assert (mrr_on(segments, "2025-03-09"), mrr_on(segments, "2025-03-10")) == (10000, 0)


def test_immediate_cancellation_churns_at_the_end_unless_invoice_based(store):
    paid = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")])
    monthly(store, status="canceled", canceled_at=ts("2025-03-10"), ended_at=ts("2025-03-10"), invoices=[paid])
    assert (mrr_on(segments_for(store), "2025-03-09"), mrr_on(segments_for(store), "2025-03-10")) == (10000, 0)
    chartmogul = segments_for(store, "chartmogul")   # churn when the billed service period ends
    assert (mrr_on(chartmogul, "2025-03-31"), mrr_on(chartmogul, "2025-04-01")) == (10000, 0)


def test_history_and_the_live_subscription_never_count_one_period_twice(store):
    january = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01")], created="2025-01-01")
    february = invoice("in_2", [line("il_2", "in_2", "price_m", 10000, "2025-02-01", "2025-03-01")], created="2025-02-01")
    march = invoice("in_3", [line("il_3", "in_3", "price_m", 10000, "2025-03-01", "2025-04-01")], created="2025-03-01")
    monthly(store, invoices=[january, february, march])
    for policy in ("default", "stripe", "chartmogul", "profitwell"):
        segments = segments_for(store, policy)
        assert [mrr_on(segments, d) for d in ("2025-01-15", "2025-02-15", "2025-03-15", "2025-04-15")] == [
            10000, 10000, 10000, 10000], policy


def test_void_and_draft_invoices_bill_nothing(store):
    void = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01")], status="void")
    load(store, customers=[customer()], prices=[MONTHLY], invoices=[void])
    assert mrr_on(segments_for(store), "2025-01-15") == 0


def test_cancellation_on_the_first_day_leaves_no_mrr_from_its_paid_invoice(store):
    paid = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")])
    monthly(store, status="canceled", canceled_at=ts("2025-03-01"), ended_at=ts("2025-03-01"), invoices=[paid])
    assert mrr_on(segments_for(store), "2025-03-01") == 0
    assert mrr_on(segments_for(store, "chartmogul"), "2025-03-31") == 10000
