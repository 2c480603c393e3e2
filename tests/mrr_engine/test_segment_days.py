"""The segment builder's day of an epoch (``segments_live.day_of``, cached): the value
``values.epoch_to_date`` gives, whatever was asked before; an odd value raises every time it is asked."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from connector.mrr.segments_live import day_of
from connector.values import MAX_EPOCH, MIN_EPOCH, OutOfRange, epoch_to_date

EPOCHS = st.one_of(st.integers(min_value=MIN_EPOCH - 10, max_value=MAX_EPOCH + 10),
                   st.sampled_from([0, 1, 1.0, True, False, 86_400, 86_399.5, "1", None, float("nan")]))


def _day(epoch):
    if epoch is None:
        return None
    try:
        return epoch_to_date(epoch)
    except OutOfRange as exc:
        return type(exc)


def _cached(epoch):
    try:
        return day_of(epoch)
    except OutOfRange as exc:
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(st.lists(EPOCHS, min_size=1, max_size=8))
def test_the_day_is_epoch_to_dates_whatever_was_asked_before(epochs):
    for epoch in [*epochs, *reversed(epochs)]:
        assert _cached(epoch) == _day(epoch)


def test_equal_numbers_of_other_types_are_not_confused():
    assert day_of(1) == date(1970, 1, 1)
    with pytest.raises(OutOfRange):
        day_of(True)   # not a Unix time, though True == 1
    with pytest.raises(OutOfRange):
        day_of(True)   # and again: an exception is not remembered
    assert day_of(1.0) == date(1970, 1, 1)
