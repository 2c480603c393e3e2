"""The store's SQL vocabulary: quoted names, canonical JSON, the meta columns every data table carries."""

from __future__ import annotations

import json
import time
from typing import Any

# Every data table ends with these (docs/store.md): when the row last changed, the
# soft-delete flag, and the store-wide change sequence that last changed it.
META_COLUMNS = ("_synced_at", "_deleted", "_seq")
META_COLUMNS_SQL = (
    '"_synced_at" TEXT NOT NULL',
    '"_deleted" INTEGER NOT NULL DEFAULT 0',
    '"_seq" INTEGER NOT NULL',
)


def canonical_json(obj: Any) -> str:
    """One text per value, so an unchanged object compares equal byte for byte."""
    # ensure_ascii (the default) takes the C encoder's fastest path; the text
    # stays canonical and every reader decodes the escapes.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def quote(identifier: str) -> str:
    """Quote an SQL identifier; names from upstream data never reach SQL unquoted."""
    return '"' + identifier.replace('"', '""') + '"'


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
