"""The local SQLite store: raw provider objects, sync state and account meta.

Conventions every layer relies on (see docs/store.md):

* One account and one mode (test or live) per file, recorded in ``_meta`` and
  checked on every open; a mismatch is refused before anything is written.
* Every data table carries ``_synced_at`` (when the row last changed),
  ``_deleted`` (soft delete: the row stays) and ``_seq``: the store-wide change
  sequence of the transaction that last changed the row. Downstream layers (the
  mapping, the MRR engine, exports) read "what changed since seq N".
* Writes are change-only: an upsert of an identical row writes nothing and
  allocates no sequence number, so a rerun with no upstream change changes
  nothing in the file.
* A page of objects and the cursor that follows it are written in one
  ``db.atomic()`` transaction; WAL mode lets a reader see whole pages only.
* Schema changes are registered migrations, recorded in ``_migrations`` per
  namespace (``raw``, ``neutral``, ``mrr``, ``export`` ...), never ad hoc ALTERs.

Modules: ``opening`` (a file becomes a Store, or is refused untouched),
``migrations`` (the store's own schema and each provider's raw tables),
``tables`` (how a table is declared), ``core`` / ``bookkeeping`` / ``writes``
(the Store: migrations applied, meta and cursors, change-only row writes),
``lock`` (one writer per store), ``quarantine`` (records kept aside),
``failures`` (what an SQLite error means for the person running the tool),
``jsontext`` (the stored text of an object: parsed and canonicalised with orjson, byte for byte
the standard library's text), ``bulk`` (loads into empty tables: indexes built after the load),
``checked`` (the ``_seq`` numbers of raw rows this process wrote from value-checked objects).
"""

from __future__ import annotations

from .bookkeeping import AccountIdentity
from .core import Migration, Store
from .opening import closed_on_failure, open_store, opened
from .sql import canonical_json, quote

__all__ = [
    "AccountIdentity", "Migration", "Store", "canonical_json", "closed_on_failure", "open_store", "opened", "quote",
]
