"""Which MRR facts a read shows: the stored ones, or another policy's (or day's) computed on the fly.

The one place every reader (CLI commands, the report, the summary) gets its
facts from. The model (docs/metrics.md, "The stored policy"):

* a store's facts are computed under one policy, recorded with them (name, rule
  fingerprint, settings, as-of day); ``mrr rebuild --policy X`` and
  ``backfill --policy X`` switch it, and every later sync keeps it;
* a read with no policy shows the stored facts and names their policy;
* a read under another policy, or for a day after the stored as-of day (a
  projection), computes into a temporary in-memory store from the stored
  segments: the user's facts are never rewritten by a read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import ConnectorError
from ..store import Store, open_store
from . import engine
from .facts import METRICS_TABLE
from .model import SEGMENTS_TABLE


class NoMrrData(ConnectorError):
    """The store holds no MRR facts and no segments to compute them from."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    fingerprint: str
    rules: dict[str, Any]        # empty when the stored facts' rules cannot be named
    computed_on_the_fly: bool    # True when the shown facts are not the stored ones
    projection: bool = False     # True when they run past the stored as-of day (nothing after it is known)


def _has_rows(store: Store, table: str) -> bool:
    return store.db[table].exists() and store.db.execute(
        f"SELECT 1 FROM {table} WHERE _deleted = 0 LIMIT 1").fetchone() is not None


@contextmanager
def facts_for(store: Store, policy=None, *, as_of: date | None = None,
              project_to: date | None = None) -> Iterator[tuple[Store, PolicyInfo]]:
    """The store whose MRR facts match ``policy`` (None: the stored policy).

    ``project_to``: a day after the stored as-of day makes the facts a
    projection through that day (the stored facts end at their as-of day).
    Yields ``store`` itself or a temporary in-memory store. Raises NoMrrData
    when there is nothing to show.
    """
    stored = engine.stored_policy(store)
    wanted = policy if policy is not None else engine.policy_of_store(store)
    projecting = project_to is not None and stored.as_of is not None and project_to > stored.as_of
    if not projecting and (policy is None or stored.matches(policy)):
        if not _has_rows(store, METRICS_TABLE):
            raise NoMrrData(f"{store.path or 'the store'} holds no MRR figures yet: run `billing-connector sync` "
                            "(or `backfill`) first")
        rules = wanted.settings() if hasattr(wanted, "settings") else {}
        yield store, PolicyInfo(stored.name, stored.fingerprint, rules, computed_on_the_fly=False)
        return
    if wanted is None or not _has_rows(store, SEGMENTS_TABLE):
        name = wanted.name if wanted is not None else stored.name or "default"
        raise NoMrrData(f"{store.path or 'the store'} holds no revenue segments to compute MRR under policy "
                        f"{name!r}: run `billing-connector sync` (or `backfill`) first")
    scratch = open_store(None)
    try:
        # another policy's facts end where the stored ones do (nothing after the as-of day unless projecting)
        engine.rebuild(store, wanted, as_of=project_to if projecting else (as_of or stored.as_of), target=scratch)
        rules = wanted.settings() if hasattr(wanted, "settings") else {}
        yield scratch, PolicyInfo(wanted.name, wanted.fingerprint(), rules, computed_on_the_fly=True,
                                  projection=projecting)
    finally:
        scratch.close()
