"""The value checks on the way into the store: the regex that spares most objects the walk never
spares one the walk would reject, and it is not fooled by digits inside strings."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

import connector.values as values
from connector.store.jsontext import canonical_json, loads
from connector.values import object_problem

numbers = st.one_of(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([253402300799, 253402300800, -62135596800, -62135596801, -99999999999, 10**15, 10**15 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
keys = st.sampled_from(["created", "amount", "period_end", "start", "quantity", "note", "trial_end", "x"])
leaves = st.one_of(numbers, st.text(alphabet="0123456789eE:-,[ in_", max_size=20), st.none(), st.booleans())
trees = st.recursive(
    leaves, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(keys, trees, max_size=5))
def test_the_text_shortcut_agrees_with_the_walk(fields):
    # as the sync gets it: read from a response body (NaN and Infinity come as NonFinite floats)
    obj = loads(json.dumps({"id": "in_1e5a", **fields}))
    assert object_problem(obj, canonical_json(obj)) == object_problem(obj)


def test_ids_with_digits_and_words_with_hyphens_do_not_send_an_object_to_the_walk(monkeypatch):
    def walk(*args):
        raise AssertionError("walked")

    monkeypatch.setattr(values, "_walk", walk)
    obj = {"id": "in_1e5Ab1234567Cx9E4", "description": "Pro plan x 1234567890 seats (one-time, re-sent)",
           "number": "ABE4341E-0026",
           "created": 1700000000, "amount": 123456, "lines": [{"id": "il_9E9", "amount": -500}]}
    assert object_problem(obj, canonical_json(obj)) is None


def test_a_time_before_year_1_with_eleven_digits_is_found():
    obj = {"id": "x", "created": -99999999999}
    assert object_problem(obj, canonical_json(obj)) == (
        "date out of range at created: -99999999999 is not in years 1..9999")
