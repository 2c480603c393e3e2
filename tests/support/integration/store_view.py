"""What a store holds, and what it should hold for a given localstripe listing."""

from __future__ import annotations

import json
from typing import Any

from connector.store import Store

Objects = dict[str, dict[str, Any]]  # id -> object


def live_objects(store: Store, table: str) -> Objects:
    """The live (`_deleted = 0`) rows of a raw table, as the objects they were stored from."""
    rows = store.db.execute(f'SELECT id, data FROM "{table}" WHERE _deleted = 0').fetchall()
    return {row_id: json.loads(data) for row_id, data in rows}


def deleted_ids(store: Store, table: str) -> list[str]:
    return sorted(row[0] for row in store.db.execute(f'SELECT id FROM "{table}" WHERE _deleted = 1'))


def as_stored(upstream: dict[str, Objects], table: str) -> Objects:
    """localstripe's objects of one table as the store keeps them.

    The sync names the parent on every child row (Stripe's subscription items
    carry `subscription`; localstripe's do not), and changes nothing else.
    """
    if table != "subscription_items":
        return upstream[table]
    parent = {item["id"]: sub_id for sub_id, sub in upstream["subscriptions"].items() for item in sub["items"]["data"]}
    return {item_id: {**item, "subscription": parent[item_id]} for item_id, item in upstream[table].items()}
