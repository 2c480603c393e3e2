"""The catalog is held to Chargebee's own definitions: the official SDK's list parameters and enums."""

from __future__ import annotations

import importlib
import typing

import pytest
from chargebee.models.enums import EventType

from connector.providers.chargebee_catalog import EVENTS, PC1, PC2, STREAMS, stream_of_event, streams_for
from tests.support.chargebee.sdk_models import _camel, response_model

ALL = list(STREAMS.values())   # the events list included


def _list_params(resource: str) -> dict[str, typing.Any]:
    module = importlib.import_module(f"chargebee.models.{resource}.operations")
    return typing.get_type_hints(getattr(module, _camel(resource)).ListParams)


@pytest.mark.parametrize("spec", ALL, ids=[s.name for s in ALL])
def test_list_parameters_exist_in_the_sdk(spec):
    params = _list_params(spec.resource)
    assert ("include_deleted" in params) == spec.include_deleted
    # the filter an incremental read sends: `updated_at[after]`, or `occurred_at[after]` for events
    assert (spec.update_field in params) == spec.updated_filter
    if spec.sort_by is not None:
        assert "sort_by" in params
        assert spec.sort_by in typing.get_type_hints(response_model(spec.resource))   # a field of the object
    if spec.created_field is not None:
        assert spec.created_field in typing.get_type_hints(response_model(spec.resource))


def test_every_event_type_is_chargebees_and_touches_one_stream():
    known = {e.value for e in EventType}
    assert EVENTS in STREAMS.values() and EVENTS.update_field == "occurred_at"
    for spec in STREAMS.values():
        assert set(spec.events) <= known, spec.name
        for event_type in spec.events:
            assert stream_of_event(event_type) == spec.name
    assert stream_of_event("subscription_renewal_reminder") is None


def test_each_catalog_version_reads_its_own_product_streams():
    assert set(streams_for(PC2)) - set(streams_for(PC1)) == {"item_families", "items", "item_prices"}
    assert set(streams_for(PC1)) - set(streams_for(PC2)) == {"plans", "addons"}


def test_a_full_read_asks_for_pages_of_100_in_immutable_order():
    assert STREAMS["invoices"].full_params == {"limit": "100", "sort_by[asc]": "date", "include_deleted": "true"}
    assert STREAMS["item_families"].full_params == {"limit": "100"}
    assert all(s.sort_by != "updated_at" for s in ALL)
