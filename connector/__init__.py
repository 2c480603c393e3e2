"""billing-connector: a billing provider's account as SQLite, exact MRR, warehouse exports.

The public API, for use from Python as well as from the `billing-connector` CLI.
"""

from .config import Settings, load_settings
from .errors import ConnectorError
from .export import ExportResult
from .export import export as export_store  # not `export`: that name is the subpackage
from .mapping.stripe import map_all, map_changes
from .mapping.schema import unclassified_summary
from .mrr.policy import Policy, load_policy
from .mrr.segments import build_segments, effective_segments
from .store import Store, open_store
from .sync import SyncReport, run_sync

__all__ = [
    "ConnectorError", "ExportResult", "Policy", "Settings", "Store", "SyncReport",
    "build_segments", "effective_segments", "export_store", "load_policy", "load_settings",
    "map_all", "map_changes", "open_store", "run_sync", "unclassified_summary",
]
