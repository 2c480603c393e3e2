"""A raw table's typed columns, read at every object the sync stores: the fast reader of a one-key
path gives exactly what the general dotted-path walk gives, whatever the value found there."""

from __future__ import annotations

from collections import OrderedDict

from hypothesis import given, settings, strategies as st

from connector.store.raw_chargebee import RAW_TABLES as CHARGEBEE_TABLES
from connector.store.raw_stripe import RAW_TABLES as STRIPE_TABLES
from connector.store.tables import _path, _reader

KEYS = ["created", "customer", "price", "status", "recurring", "interval", "id", "subscription"]
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=8,
)
objects = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
PATHS = ["created", "customer", "recurring.interval", "price|subscription", "price.id", "status"]


@settings(max_examples=300, deadline=None)
@given(objects, st.sampled_from(PATHS))
def test_a_reader_reads_what_the_path_walk_reads(obj, dotted):
    assert _reader(dotted)(obj) == _path(obj, dotted)
    assert type(_reader(dotted)(obj)) is type(_path(obj, dotted))   # True stays 1, not True
    assert _reader(dotted)(OrderedDict(obj)) == _path(OrderedDict(obj), dotted)


@settings(max_examples=100, deadline=None)
@given(objects)
def test_every_raw_tables_row_is_its_columns_read_by_path(obj):
    obj = {**obj, "id": "x_1"}
    for table in [*STRIPE_TABLES.values(), *CHARGEBEE_TABLES.values()]:
        row = table.to_row(obj)
        assert [row[column] for column, _type, _path_ in table.columns] == \
            [_path(obj, path) for _column, _type, path in table.columns]


def test_an_expanded_object_gives_its_id_a_list_nothing_a_flag_an_integer():
    read = _reader("price")
    assert read({"price": {"id": "price_1", "object": "price"}}) == "price_1"
    assert read({"price": ["price_1"]}) is None
    assert read({"price": True}) == 1 and type(read({"price": True})) is int
    assert read({}) is None
