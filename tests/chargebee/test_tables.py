"""The Chargebee raw tables hold every object of the fake site, typed columns filled from Chargebee's fields."""

from __future__ import annotations

import json
import sqlite3

import pytest

from connector.providers.chargebee_catalog import EVENTS, STREAMS
from connector.store.raw_chargebee import RAW_TABLES
from connector.store import canonical_json


def _load(one) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for table in RAW_TABLES.values():
        db.execute(table.create_sql())
    for stream, objects in one.objects.items():
        table = RAW_TABLES[stream]
        for obj in objects:
            row = {**table.to_row(obj), "_synced_at": "2025-01-01T00:00:00Z", "_seq": 1}
            db.execute(f"INSERT INTO {stream} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values()))
    return db


@pytest.mark.parametrize("which", ["site", "legacy_site"])
def test_every_object_of_both_catalogs_fits_its_table(which, request):
    one = request.getfixturevalue(which)
    db = _load(one)
    for stream, objects in one.objects.items():
        assert db.execute(f"SELECT count(*) FROM {stream}").fetchone()[0] == len(objects), stream


def test_typed_columns_and_the_whole_object(site):
    db = _load(site)
    sub = site.objects["subscriptions"][0]
    stored = db.execute("SELECT customer_id, status, mrr, deleted, data FROM subscriptions WHERE id = ?",
                        [sub["id"]]).fetchone()
    assert stored[:4] == (sub["customer_id"], sub["status"], sub["mrr"], 0)
    assert json.loads(stored[4]) == sub and stored[4] == canonical_json(sub)
    legacy = db.execute("SELECT count(*) FROM customers WHERE updated_at IS NULL").fetchone()[0]
    assert legacy == 2      # customers never updated since 2016 keep a null updated_at
    deleted = db.execute("SELECT count(*) FROM customers WHERE deleted = 1").fetchone()[0]
    assert deleted == sum(1 for c in site.objects["customers"] if c["deleted"])


def test_every_catalog_stream_has_its_table():
    assert set(RAW_TABLES) == {*STREAMS, EVENTS.name}
