"""The sync reads its streams with a larger page cache, fewer WAL checkpoints and fewer cycle
collections, and puts all three back."""

from __future__ import annotations

import gc

import connector.app.syncing as syncing
import connector.refresh as refresh
from connector.collector import YOUNG_GENERATION_THRESHOLD
from tests.support.cli import run_cli
from tests.support.loopback import LoopbackServer, stripe_list


def _pragmas(store) -> tuple[int, int, int]:
    return (store.db.execute("PRAGMA cache_size").fetchone()[0],
            store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
            gc.get_threshold()[0])


def test_the_streams_are_read_with_the_sync_settings_and_the_refresh_runs_with_the_defaults(tmp_path, monkeypatch):
    seen = {}
    young_default = gc.get_threshold()[0]
    assert young_default < YOUNG_GENERATION_THRESHOLD
    read_streams, refresh_after_sync = syncing.run_sync, refresh.refresh_after_sync

    def reading(store, *args, **kwargs):
        seen["streams"] = _pragmas(store)
        return read_streams(store, *args, **kwargs)

    def refreshing(store, *args, **kwargs):
        seen["refresh"] = _pragmas(store)
        return refresh_after_sync(store, *args, **kwargs)

    monkeypatch.setattr(syncing, "run_sync", reading)
    monkeypatch.setattr(refresh, "refresh_after_sync", refreshing)
    with LoopbackServer(lambda request: stripe_list(request.path, [], False)) as server:
        result = run_cli(["sync", "--db", str(tmp_path / "s.db"), "--streams", "customers", "--quiet"],
                         base=server.url, fast=True)
    assert result.exit_code == 0, result.output
    assert seen["streams"] == (-syncing.SYNC_CACHE_KIB, syncing.SYNC_CHECKPOINT_PAGES, YOUNG_GENERATION_THRESHOLD)
    # SQLite's and the collector's defaults, back for the refresh (which sets its own)
    assert seen["refresh"] == (-2000, 1000, young_default)
