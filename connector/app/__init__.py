"""The jobs the CLI runs, as plain functions: settings in, results out; nothing printed.

One module per command family: ``syncing`` (sync, auth), ``store_status``, ``demos``,
``mrr`` (the MRR reads, rebuild, backfill, import), ``reads`` (report,
explain), ``exporting``. ``cli/`` parses options, calls these and prints
through its output layer. A module is imported when a command first uses it
(``app.mrr``, ``app.sync``: PEP 562), so a command loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = ("demos", "exporting", "mrr", "reads", "store_status", "syncing")
# job -> the module defining it
_JOBS = {
    "ChargebeeDemo": "demos", "demo": "demos", "demo_chargebee": "demos", "run_demo": "demos",
    "status": "store_status",
    "auth": "syncing", "sync": "syncing", "sync_and_count": "syncing",
}

__all__ = sorted(_JOBS)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _JOBS:
        value = getattr(importlib.import_module(f"{__name__}.{_JOBS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
