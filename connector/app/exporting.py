"""The export job: the analysis tables brought up to date from the facts, then the changed rows sent."""

from __future__ import annotations

from typing import Any

from ..store import opened
from ..sync.progress import one_phase
from ..sync_health import last_sync


def export(settings, target: str, *, tables: list[str] | None, full: bool, schema: str | None,
           rates_table) -> tuple[Any, dict[str, Any]]:
    """Export the store to ``target`` (only what changed since its last export, unless ``full``);
    returns (the ExportResult, the last sync). A failure leaves the failed table's target and watermark as they were."""
    from ..export import export as export_store
    from ..mrr.analysis_tables import write_analysis_tables

    with opened(settings.db, create=False) as store:
        last = last_sync(store)
        with one_phase("export"):
            write_analysis_tables(store, rates_table)   # segments, cohorts, converted view: from the facts
            result = export_store(store, target, tables=tables, full=full, schema=schema)
    return result, last
