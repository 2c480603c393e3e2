"""A segment's stored tags text is json.dumps of its sorted distinct tags, in whatever order and with
whatever repeats the builder hands them (the text is made once per tag list and reused)."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import given, settings, strategies as st

from connector.mrr.model import segment_row

TAGS = st.lists(st.one_of(st.sampled_from(["invoice_basis", "invoice:paid", "discount", "discount:once",
                                           "trialing", "proration", "é"]), st.text(max_size=6)), max_size=6)


def _row(tags):
    return segment_row(segment_id="s", provider="stripe", customer_id="cus_1", source_type="invoice_line",
                       source_id="il_1", currency="USD", start=date(2025, 1, 1), end=None, amount_minor=100,
                       tags=tags, detail={"b": 1, "a": None})


@settings(max_examples=300, deadline=None)
@given(TAGS)
def test_the_tags_text_is_the_sorted_distinct_tags_whatever_the_order(tags):
    text = _row(tags)["tags"]
    assert text == json.dumps(sorted(set(tags)))
    assert _row(list(reversed(tags)))["tags"] == text
    assert _row(tuple(tags) + tuple(tags))["tags"] == text
    assert _row(set(tags))["tags"] == text


def test_a_segment_row_as_stored():
    assert _row(["trialing", "invoice_basis", "trialing"]) == {
        "segment_id": "s", "provider": "stripe", "customer_id": "cus_1", "subscription_id": None,
        "source_type": "invoice_line", "source_id": "il_1", "series": "mrr", "currency": "usd",
        "start_date": "2025-01-01", "end_date": None, "amount_minor": 100, "interval": "month", "interval_count": 1,
        "tags": '["invoice_basis", "trialing"]', "detail": '{"a": null, "b": 1}',
    }
