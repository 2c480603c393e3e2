"""billing-connector: a billing provider's account as SQLite, exact MRR, warehouse exports.

The public API, for use from Python as well as from the `billing-connector` CLI.
Each name is imported when first used (PEP 562), so that `billing-connector
--help` or `status` does not load every provider's SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, attribute)
_PUBLIC = {
    "Settings": ("connector.config", "Settings"),
    "load_settings": ("connector.config", "load_settings"),
    "ConnectorError": ("connector.errors", "ConnectorError"),
    "ExportResult": ("connector.export", "ExportResult"),
    "export_store": ("connector.export", "export"),   # not `export`: that name is the subpackage
    "map_all": ("connector.mapping.stripe", "map_all"),
    "map_changes": ("connector.mapping.stripe", "map_changes"),
    "unclassified_summary": ("connector.mapping.schema", "unclassified_summary"),
    "Policy": ("connector.mrr.policy", "Policy"),
    "load_policy": ("connector.mrr.policy", "load_policy"),
    "build_segments": ("connector.mrr.segments", "build_segments"),
    "effective_segments": ("connector.mrr.segments", "effective_segments"),
    "Store": ("connector.store", "Store"),
    "open_store": ("connector.store", "open_store"),
    "SyncReport": ("connector.sync", "SyncReport"),
    "run_sync": ("connector.sync", "run_sync"),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'connector' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
