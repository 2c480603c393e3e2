"""A disk that fills inside the export, the store's or the target folder's, for real.

The store's: its first export creates bookkeeping tables, which need pages a full disk
does not have. The folder's: a small tmpfs mounted over it (root only), so the kernel
answers "No space left on device" part-way through the tables. Either way the export is
one line naming what to do, leaves no partial file, and once space is freed the next
export completes the folder: every row of the store in it, at its last version.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from connector.http import RateLimiter
from connector.providers.stripe import StripeProvider
from connector.refresh import refresh_after_sync
from connector.mrr.policy import load_policy
from connector.store import open_store
from connector.sync import run_sync
from connector.demo.server import DemoServer
from connector.export import export
from tests.support.faults import faults
from tests.support.keys import CANARY_KEY
from tests.support.small_disk import small_disks_available
from tests.support.truth_checks import export_delta


@pytest.fixture(scope="module")
def server():
    with DemoServer(seed=8, customers=12) as running:
        yield running


def synced(url, path):
    provider = StripeProvider(CANARY_KEY, api_base=url, limiter=RateLimiter(1000))
    store = open_store(path)
    store.bind_account(provider.identify())
    assert run_sync(store, provider, streams=list(provider.streams), workers=4).failures == {}
    return store


@pytest.mark.parametrize("on_target", [
    False,
    pytest.param(True, marks=pytest.mark.skipif(not small_disks_available(),
                                                reason="mounting a small tmpfs needs root")),
], ids=["store", "target-folder"])
def test_a_full_disk_inside_the_export_then_space_freed(server, tmp_path, on_target):
    db = tmp_path / "store.db"
    store = synced(server.url, db)
    logs, sites = [], []

    def fill_disk(margin=None):
        pages = store.db.execute("pragma page_count").fetchone()[0]
        store.db.execute(f"pragma max_page_count = {pages + (margin or 0)}")

    with contextlib.ExitStack() as cleanup:
        # a folder of 8 KiB: the first tables' files fit, the rest do not
        rng = random.Random(1)
        rng.randint = lambda a, b: 2
        landed = faults._fill_disk_in_export(store, db, rng, fill_disk, logs, cleanup, sites, on_target=on_target)
        assert landed, logs
        assert sites == ["disk_full/export-target" if on_target else "disk_full/export-store"]
        message = logs[-1]
        assert "\n" not in message and ("space" in message or "full" in message), message
        assert list((tmp_path / "export").glob("*.tmp")) == []
        # space freed (the small disk grown, the store's page limit lifted): the next export completes
        export(store, f"jsonl:{tmp_path / 'export'}")
        store.close()
        assert export_delta(db, tmp_path / "export") == (0, [])
