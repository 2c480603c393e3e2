"""The mapping parses and checks each stored object in one step (values.parsed_object): the same
object and the same verdict as parsing with jsontext.loads then object_problem, for any stored text
(the sync's canonical texts, an older version's, one edited by hand)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from connector.store.jsontext import loads
from connector.values import object_problem, parsed_object

# number tokens as a text may spell them: long, signed and unsigned exponents, NaN and Infinity
number_tokens = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.sampled_from(["1e20", "1E20", "1e+20", "2.5E-7", "-1e5", "1e400", "-1E400", "0e0", "9e15", "1e15",
                     "253402300800", "-62135596801", "1.5", "-0.0", "NaN", "Infinity", "-Infinity",
                     "18446744073709551616", "-9223372036854775809", "12345678901.5"]),
)
string_tokens = st.text(alphabet="0123456789eE:-,[ in_+.NaIfy", max_size=16).map(lambda t: '"' + t + '"')
keys = st.sampled_from(['"created"', '"amount"', '"period_end"', '"start"', '"note"', '"x"'])
spaces = st.sampled_from(["", " ", "\n  "])


@st.composite
def texts(draw):
    def value(depth):
        kind = draw(st.integers(0, 4 if depth < 3 else 2))
        if kind == 0:
            return draw(number_tokens)
        if kind == 1:
            return draw(string_tokens)
        if kind == 2:
            return draw(st.sampled_from(["null", "true", "false"]))
        gap = draw(spaces)
        if kind == 3:
            return "[" + ("," + gap).join(value(depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        return "{" + ("," + gap).join(f"{draw(keys)}:{gap}{value(depth + 1)}" for _ in range(draw(st.integers(0, 3)))) + "}"

    gap = draw(spaces)
    identity = draw(st.sampled_from(['"id":"in_1e5a"', '"id":"x"', '"id":7', '"id":""', '"note":"no id"']))
    fields = [f"{draw(keys)}:{gap}{value(0)}" for _ in range(draw(st.integers(0, 4)))]
    return ("{" + ("," + gap).join([identity, *fields]) + "}").encode()


def _same(a, b) -> bool:
    # NaN != NaN: compare the texts of what was read
    return repr(a) == repr(b)


@settings(max_examples=600, deadline=None)
@given(texts())
def test_one_step_reads_and_judges_as_the_two_steps_do(text):
    expected = loads(text)
    obj, problem = parsed_object(text)
    assert _same(obj, expected)
    assert problem == object_problem(expected)   # the walk's verdict: nothing it would reject passes


def test_an_exponent_without_a_sign_is_found():
    # json.dumps writes 1e+20, but a text written by hand may not: the walk must still see it
    text = b'{"id":"x","amount":1e20}'
    assert parsed_object(text)[1] == "number out of range at amount: 1e+20"
    assert object_problem(loads(text), text) == "number out of range at amount: 1e+20"


def test_nan_and_infinity_are_read_as_the_standard_library_reads_them_and_rejected():
    obj, problem = parsed_object(b'{"id":"x","quantity":NaN}')
    assert repr(obj["quantity"]) == "nan" and problem == "number out of range at quantity: nan"
    obj, problem = parsed_object(b'{"id":"x","amount": 1e400}')
    assert obj["amount"] == float("inf") and problem == "number out of range at amount: inf"
