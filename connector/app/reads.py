"""The report and explain jobs: read the store (read-only), return what to show; nothing printed here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..mrr import reporting_view
from ..store import opened
from ..sync_health import last_sync


@dataclass
class Report:
    summary: dict[str, Any] | None   # the last 12 months per currency (None when an HTML file was written)
    html_path: Path | None
    last: dict[str, Any]             # the last sync (``partial``, ``warning``)


def report(settings, policy, table, html_path: str | None) -> Report:
    """The HTML report written to ``html_path``, or the terminal summary's rows; under ``policy``
    (None: the store's own), converted with ``table`` when given."""
    from ..report.html import write_report
    from ..report.summary import summary_rows

    with opened(settings.db, read_only=True) as store:
        last = last_sync(store)
        if html_path:
            return Report(None, write_report(store, html_path, policy, rates=table), last)
        return Report(summary_rows(store, policy, rates=table), None, last)


def explain(settings, customer_id: str, day: date, table) -> tuple[dict[str, Any], dict[str, Any]]:
    """What makes up a customer's MRR on ``day`` and what is behind each movement; (explanation, last sync)."""
    from ..mrr.explain import explain as explain_customer

    with opened(settings.db, read_only=True) as store:
        last = last_sync(store)
        explanation = explain_customer(store, customer_id, day)
        if table is not None:
            _add_converted(explanation, store, table, customer_id, day)
    return explanation, last


def _add_converted(report: dict, store, table, customer_id: str, day) -> None:
    """The day's MRR rows with their value in the reporting currency and its rate, and the converted months."""
    for row in report["mrr"]:
        if row.get("mrr_minor") is not None and row.get("currency"):
            row |= {"reporting_currency": table.reporting_currency,
                    "reporting_mrr_minor": table.convert(row["mrr_minor"], row["currency"], day),
                    "rate_source": table.sources([row["currency"]], day) or "same currency"}
    report["reporting_months"] = reporting_view.customer_months(store, table, customer_id=customer_id)
