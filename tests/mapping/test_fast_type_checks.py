"""The mapping's quick paths answer as the slow ones they replace: any Mapping is a mapping, not only
a dict (stripe_shapes.is_mapping and the helpers built on it); an integer past the bound is refused
whatever int subclass carries it, a bool never is (the neutral row check); a line without discounts
stores the canonical text of an empty list."""

from __future__ import annotations

from collections import OrderedDict, UserDict
from enum import IntEnum
from types import MappingProxyType

import pytest

from connector.mapping.stripe import checked_row, map_all
from connector.mapping.stripe_shapes import dig, is_mapping, list_data, ref
from connector.store import canonical_json
from connector.values import MAX_ABS_NUMBER, OutOfRange
from tests.support.stripe_objects import customer, invoice, line, load, price, table


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


def test_a_lines_discount_amounts_text_is_the_canonical_one_with_or_without_discounts(store):
    plain = line("il_1", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01")
    discounted = line("il_2", "in_1", "price_m", 10000, "2025-01-01", "2025-02-01", discount_amounts=[("di_1", 500)])
    load(store, customers=[customer()], prices=[price("price_m", 10000)], invoices=[invoice("in_1", [plain, discounted])])
    map_all(store)
    texts = {row["id"]: row["discount_amounts"] for row in table(store, "billing_invoice_lines")}
    assert texts == {"il_1": canonical_json([]), "il_2": canonical_json([{"amount": 500, "discount": "di_1"}])}
    assert texts["il_1"] == "[]"
