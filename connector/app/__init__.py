"""The jobs the CLI runs, as plain functions: settings in, results out; nothing printed.

One module per command family: ``syncing`` (sync, auth), ``status``, ``demo``,
``mrr`` (the MRR reads, rebuild, backfill, import), ``reads`` (report,
explain), ``exporting``. ``cli/`` parses options, calls these and prints
through its output layer.
"""

from __future__ import annotations

from .demo import ChargebeeDemo, demo, demo_chargebee
from .status import status
from .syncing import auth, sync, sync_and_count

__all__ = ["ChargebeeDemo", "auth", "demo", "demo_chargebee", "status", "sync", "sync_and_count"]
