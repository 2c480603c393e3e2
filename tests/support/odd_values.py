"""Stores holding a value the sync would have refused: a demo account synced in the test's own
process, then one raw object rewritten as another writer (an older version, a hand edit) would
have stored it."""

from __future__ import annotations

import json

from connector.demo import server as demo_server
from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from tests.support.keys import CANARY_KEY

YEAR_10001 = 253_402_300_800 + 400 * 86_400


def synced_demo(path, customers: int = 12, seed: int = 3, then=None) -> list[tuple[int, int]]:
    """Sync a demo account into a new store at ``path`` in this process, run ``then(store)`` on the same
    open store (the refresh that follows a sync, say); the ``_seq`` spans the sync noted as checked."""
    with demo_server.DemoServer(customers=customers, seed=seed) as server:
        provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500))
        store = open_store(path)
        try:
            store.bind_account(provider.identify())
            assert run_sync(store, provider, streams=list(provider.streams), workers=4).failures == {}
            spans = store.checked_seqs.spans()
            if then is not None:
                then(store)
        finally:
            store.close()
    return spans


def plant(store, table, change, offset=0):
    """Rewrite one stored raw object as an older version would have stored it; its id."""
    object_id, data = store.db.execute(
        f"SELECT id, data FROM {table} WHERE _deleted = 0 ORDER BY id LIMIT 1 OFFSET {offset}").fetchone()
    obj = json.loads(data)
    change(obj)
    seq = store.current_seq() + 1
    with store.db.atomic():
        store.db.execute(f"UPDATE {table} SET data = ?, _seq = ? WHERE id = ?", [json.dumps(obj), seq, object_id])
        if table == "customers":
            store.db.execute("UPDATE customers SET created = ? WHERE id = ?", [obj["created"], object_id])
        store.set_meta("seq", str(seq))
    return object_id
