"""The mapping's quick type checks (stripe_shapes.is_mapping and the helpers built on it, the
neutral row check) answer as the slow ones they replace: any Mapping is a mapping, not only a dict;
an integer past the bound is refused whatever int subclass carries it, a bool never is."""

from __future__ import annotations

from collections import OrderedDict, UserDict
from enum import IntEnum
from types import MappingProxyType

import pytest

from connector.mapping.stripe import checked_row
from connector.mapping.stripe_shapes import dig, is_mapping, list_data, ref
from connector.values import MAX_ABS_NUMBER, OutOfRange


class _Code(IntEnum):
    BIG = MAX_ABS_NUMBER + 1
    SMALL = 7


@pytest.mark.parametrize("value, expected", [
    ({"id": "x"}, True), (OrderedDict(id="x"), True), (MappingProxyType({"id": "x"}), True),
    (UserDict(id="x"), True), ("cus_1", False), (None, False), (3, False), (2.5, False), (True, False),
    ([{"id": "x"}], False),
])
def test_is_mapping_is_the_abc_check(value, expected):
    assert is_mapping(value) is expected


def test_ref_dig_and_list_data_read_any_mapping():
    proxy = MappingProxyType({"id": "price_1", "data": [1, 2], "inner": MappingProxyType({"id": "deep"})})
    assert ref(proxy) == "price_1" and ref("price_2") == "price_2" and ref(None) is None
    assert dig(proxy, "inner", "id") == "deep" and dig({"a": "text"}, "a", "b") is None and dig(None, "a") is None
    assert list_data(proxy) == [1, 2] and list_data([3]) == [3] and list_data("data") == [] and list_data(None) == []


@pytest.mark.parametrize("value, refused", [
    (MAX_ABS_NUMBER, False), (-MAX_ABS_NUMBER, False), (MAX_ABS_NUMBER + 1, True), (-MAX_ABS_NUMBER - 1, True),
    (_Code.BIG, True), (_Code.SMALL, False), (True, False), (1e300, False), ("9" * 30, False), (None, False),
])
def test_checked_row_refuses_integers_past_the_bound_only(value, refused):
    if refused:
        with pytest.raises(OutOfRange, match="amount_minor out of range"):
            checked_row({"id": "x", "amount_minor": value})
    else:
        checked_row({"id": "x", "amount_minor": value})
