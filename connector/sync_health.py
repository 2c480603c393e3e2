"""What the last sync left behind, for every read to state in one line (and in JSON).

A sync records ``last_sync_started_at`` when it begins and, when it ends,
``last_sync_finished_at`` and ``last_sync_ok`` ("0" when a stream failed). A
start later than the last finish means the run was interrupted (killed, the
machine stopped). Either way the figures a read shows may be built on partial
data, and the person reading them is told so.
"""

from __future__ import annotations

import json
from typing import Any

from .output_values import iso_utc as _iso

META_STARTED = "last_sync_started_at"
META_FINISHED = "last_sync_finished_at"
META_OK = "last_sync_ok"
# {endpoint: requests} of the last run that finished; emptied when a run starts (an interrupted
# run's reads are not known, and the previous run's would be taken for them)
META_REQUESTS = "last_sync_requests"


def record_requests(store, by_endpoint: dict[str, int] | None) -> None:
    """Inside the caller's transaction: the run's requests per endpoint (None: a run has begun)."""
    store.set_meta(META_REQUESTS, json.dumps(by_endpoint) if by_endpoint is not None else "")


def _requests(store) -> dict[str, int] | None:
    text = store.meta(META_REQUESTS)
    if not text:
        return None
    try:
        by_endpoint = json.loads(text)
    except ValueError:
        return None   # written by us, so never; an edited file reads as unknown rather than failing
    if not isinstance(by_endpoint, dict):
        return None
    return {str(k): v for k, v in by_endpoint.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def last_sync(store) -> dict[str, Any]:
    """``{"started_at", "finished_at", "ok", "interrupted", "partial", "warning", "requests",
    "requests_by_endpoint"}`` (times ISO-8601 UTC).

    ``ok`` is None when no sync ever finished; the requests are the last finished run's (None
    when none finished, or the last run was interrupted). ``partial`` is True when the last
    sync failed for a stream or was interrupted; ``warning`` then says so in one
    line and what to do.
    """
    started, finished, ok = store.meta(META_STARTED), store.meta(META_FINISHED), store.meta(META_OK)
    interrupted = bool(started) and (not finished or int(started) > int(finished))
    failed = ok == "0" and not interrupted
    warning = None
    if interrupted:
        warning = (
            f"the last sync, started {_iso(started)}, was interrupted: these figures may miss what it was "
            "fetching; the next `billing-connector sync` resumes from its last committed page"
        )
    elif failed:
        warning = (
            f"the last sync, finished {_iso(finished)}, failed for some streams: these figures come from "
            "partial data; run `billing-connector sync` and read its errors"
        )
    by_endpoint = None if interrupted else _requests(store)
    return {
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "ok": None if ok is None else ok == "1",
        "interrupted": interrupted,
        "partial": interrupted or failed,
        "warning": warning,
        "requests": sum(by_endpoint.values()) if by_endpoint is not None else None,
        "requests_by_endpoint": by_endpoint,
    }


def next_run(state: dict[str, Any] | None) -> str:
    """What the next sync does for a stream, from its committed state."""
    if not state:
        return "read in full"
    if state.get("phase") == "full":
        if state.get("updated_since") is not None:
            return "resume its read of what changed from the last committed page"
        return "resume its full read from the last committed page"
    if state.get("incremental") == "full_read":
        return "read it in full again (its list has no updated-since filter)"
    if state.get("incremental") == "updated_since":
        return f"list what was updated since {_iso(state.get('updated_cursor'))}"
    return "apply the changes since its events cursor"
