"""Money stays exact: the pieces a line or a discount stack is split into add up to the minor unit."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mrr.segments_pricing import discount_amounts, split_line


@settings(max_examples=150, deadline=None)
@given(amount=st.integers(1, 10**9), discount_share=st.fractions(0, 1), tax_percent=st.integers(0, 30))
def test_an_inclusive_tax_line_splits_into_list_and_discount_that_add_up_to_its_net(amount, discount_share, tax_percent):
    discount = int(amount * discount_share)
    billed = amount - discount
    tax = round(Fraction(billed * tax_percent, 100 + tax_percent))   # Stripe's inclusive tax on the discounted amount
    net = billed - tax
    list_part, discount_part = split_line(amount, discount, net)
    assert list_part - discount_part == net
    assert 0 <= discount_part <= list_part


def test_split_line_examples():
    assert split_line(12000, 0, 10000) == (10000, 0)             # 20 % inclusive tax, no discount
    assert split_line(12000, 2400, 8000) == (10000, 2000)         # and 20 % off
    assert split_line(10000, 2000, 8000) == (10000, 2000)         # no tax


@settings(max_examples=150, deadline=None)
@given(list_amount=st.integers(0, 10**8),
       offs=st.lists(st.one_of(st.integers(1, 100).map(lambda p: {"percent_off": str(p)}),
                               st.integers(1, 10**7).map(lambda a: {"amount_off_minor": a, "currency": "usd"})),
                     max_size=4))
def test_stacked_discounts_never_exceed_what_remains(list_amount, offs):
    taken = discount_amounts(list_amount, Fraction(1), offs, "usd")
    assert all(isinstance(amount, int) and amount >= 0 for _, amount in taken)
    assert sum(amount for _, amount in taken) <= list_amount


def test_stacked_discounts_skip_other_currencies_and_unknown_terms():
    offs = [{"amount_off_minor": 500, "currency": "eur"}, {"percent_off": None}, {"percent_off": "12.5"}]
    assert [(d.get("percent_off"), amount) for d, amount in discount_amounts(10000, Fraction(1), offs, "usd")] == [
        ("12.5", 1250)]
