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


# What a detail may hold: the builder's flat dicts (ids, dates, counts, None), and anything else its
# fast writer must hand to json.dumps (separators and escapes inside strings, non-ASCII, DEL, control
# characters, bools, floats, integers past 64 bits, nested values, keys that are not strings).
_TEXT = st.one_of(st.sampled_from(["in_1", "il_2", "si_3|price_4", "2025-01-31", "a,b", "a:b", "a\"b", "a\\b",
                                   "é", "\x7f", "\n", "", " "]), st.text(max_size=8))
_SCALAR = st.one_of(_TEXT, st.integers(), st.integers(min_value=-2**70, max_value=2**70), st.none(),
                    st.booleans(), st.floats(allow_nan=False))
_DETAIL = st.one_of(st.dictionaries(_TEXT, st.one_of(_TEXT, st.integers(), st.none()), max_size=14),
                    st.dictionaries(_TEXT, st.one_of(_SCALAR, st.lists(_SCALAR, max_size=3),
                                                     st.dictionaries(_TEXT, _SCALAR, max_size=3)), max_size=6),
                    st.dictionaries(st.integers(), _TEXT, max_size=3))


@settings(max_examples=1000, deadline=None)
@given(_DETAIL)
def test_the_detail_text_is_json_dumps_with_sorted_keys(detail):
    assert _row([])["detail"] == '{"a": null, "b": 1}'
    row = segment_row(segment_id="s", provider="stripe", customer_id="cus_1", source_type="invoice_line",
                      source_id="il_1", currency="usd", start=date(2025, 1, 1), end=None, amount_minor=1,
                      detail=detail)
    assert row["detail"] == json.dumps(detail, sort_keys=True)


def test_the_details_the_builder_writes_take_the_fast_writer():
    # a flat detail of ids, dates, counts and None: orjson's text with json.dumps's separators
    from connector.mrr import model

    detail = {"invoice": "in_1", "quantity": 3, "canceled_at": None, "period_start": "2025-01-01"}
    calls = []
    standard, model._standard_detail_json = model._standard_detail_json, lambda d: calls.append(d) or standard(d)
    try:
        assert model._detail_json(detail) == json.dumps(detail, sort_keys=True)
        assert calls == []
        assert model._detail_json({**detail, "slot": "si_1:x"}) == json.dumps({**detail, "slot": "si_1:x"}, sort_keys=True)
        assert len(calls) == 1
    finally:
        model._standard_detail_json = standard
