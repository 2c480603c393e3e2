"""Parse once, canonicalise once, fast, and exactly as the standard library would.

The stored text of every object must stay byte for byte ``json.dumps(sort_keys=True,
separators=(",", ":"))``: a store synced before the switch to orjson and after it must
compare equal, and an unchanged object must still be recognised as unchanged.
"""

from __future__ import annotations

import json
import math

from hypothesis import example, given, settings, strategies as st

from connector.store.jsontext import NonFinite, canonical_json, canonical_text, loads
from connector.values import number_problem, object_problem


def standard(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


scalars = st.one_of(
    st.none(), st.booleans(), st.text(), st.text(alphabet=st.characters(max_codepoint=0x7F)),
    st.integers(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-7, 3.5e-05, 0.0001, 1e16, 1e22, -0.0, 2.5, 123456789.125]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_canonical_text_is_exactly_the_standard_librarys(value):
    assert canonical_json(value) == standard(value)


@settings(max_examples=400, deadline=None)
@given(values)
@example(-9_223_372_036_854_775_809)   # 19 digits, below the smallest 64-bit integer (found by hypothesis)
@example(18_446_744_073_709_551_616)   # 20 digits, past the largest unsigned one
def test_reading_gives_what_the_standard_library_reads(value):
    text = json.dumps(value)
    assert standard(loads(text)) == standard(json.loads(text))
    assert standard(loads(text.encode())) == standard(json.loads(text))


def test_the_edges_orjson_would_get_wrong_are_read_by_the_standard_library():
    big = loads(b'{"balance": 100000000000000000000}')
    assert big["balance"] == 10**20 and isinstance(big["balance"], int)   # not 1e+20
    assert canonical_json(big) == '{"balance":100000000000000000000}'
    odd = loads(b'{"amount": NaN, "b": Infinity, "s": "\\ud800"}')
    assert isinstance(odd["amount"], NonFinite) and math.isnan(odd["amount"]) and odd["s"] == "\ud800"
    # written as the standard library writes it, so the value checks still find it
    assert canonical_json(odd) == '{"amount":NaN,"b":Infinity,"s":"\\ud800"}'
    assert object_problem({"id": "x", **odd}, canonical_json({"id": "x", **odd})).startswith("number out of range")


def test_what_is_not_json_raises_value_error_or_recursion_error():
    for body in (b"<html>", b"", b'{"a": 1', "{\"a\": tru}"):
        try:
            loads(body)
        except ValueError:
            continue
        raise AssertionError(f"{body!r} was read")
    deep = b"[" * 100_000 + b"]" * 100_000
    try:
        loads(deep)
    except RecursionError:
        pass
    else:
        raise AssertionError("a body nested 100,000 deep was read")


def test_non_ascii_and_control_characters_are_escaped_as_before():
    value = {"name": "Zoë – Café ☕", "note": "tab\tDEL\x7f nul\x00", "é": 1,
             "astral": "𝄞 🎉x🎉", "mixed": ["\x7f", "ü\x7fü", "\u00ff\u0100\uffff"]}
    assert canonical_json(value) == standard(value)
    assert canonical_json(value).isascii()
    # runs of them at either end of the text, back to back, alone
    for edge in ("é", "éx", "xé", "\x7f", "é\x7f🎉", ["é", "\x7f"], {"é": "ü"}):
        assert canonical_json(edge) == standard(edge)


numbers_near_the_bounds = st.one_of(
    st.integers(), st.integers(min_value=-(10**16), max_value=10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**15, 10**15 + 1, -(10**15) - 1, 253_402_300_800, -62_135_596_801, 1e16, 1e-7,
                     float("nan"), float("inf")]),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["amount", "created", "period_end", "n", "tiers"]),
                       st.one_of(numbers_near_the_bounds, st.lists(numbers_near_the_bounds, max_size=3)),
                       max_size=4),
       st.text(max_size=12))
def test_a_text_said_to_hold_no_unusual_number_holds_no_value_past_the_bounds(fields, name):
    """The sync walks an object's values only when ``canonical_text`` says its text may show a number
    past the bounds: an object it clears must be one the walk clears too, and the text is unchanged."""
    obj = loads(json.dumps({"id": "in_1e5a", "name": name, **fields}))   # NaN read back as NonFinite
    text, unusual = canonical_text(obj)
    assert text == canonical_json(obj) == standard(obj)
    if not unusual:
        assert number_problem(obj) is None
    assert (number_problem(obj) if unusual else None) == object_problem(obj)
