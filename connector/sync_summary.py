"""What one sync did, as data (``sync --format json``) and as lines for a person or a log.

Per stream: rows now live, and rows created, updated and deleted by this run
(counted by the store as it writes); the run's requests (in total and per endpoint), retries and 429s; and
the seconds spent fetching, mapping and computing MRR.
"""

from __future__ import annotations

from typing import Any

from .errors import EXIT_OK, EXIT_REJECTED


def exit_code_of(report) -> int:
    """The run's exit code: a failed stream's own code, else 8 when records were quarantined
    (connector/store/quarantine.py), else 0."""
    if report.failures:
        return next(iter(report.failures.values())).exit_code
    return EXIT_REJECTED if report.rejected else EXIT_OK


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def sync_summary(db: str, report, counts: dict[str, int], exit_code: int) -> dict[str, Any]:
    """The JSON document of a sync (schema: ``#/$defs/sync`` in connector/schemas/output.json)."""
    streams = []
    for table, rows in counts.items():
        changed = report.changes.get(table, {})
        error = report.failures.get(table)
        streams.append({
            "stream": table,
            "rows": rows,
            "created": changed.get("created", 0),
            "updated": changed.get("updated", 0),
            "deleted": changed.get("deleted", 0),
            "error": str(error) if error is not None else None,
        })
    seconds = report.phase_seconds
    return {
        "db": db,
        "ok": not report.failures,
        "exit_code": exit_code,
        "seconds": {
            "fetch": _seconds(seconds.get("fetch", report.seconds)),
            "mapping": _seconds(seconds.get("mapping")),
            "mrr": _seconds(seconds.get("mrr")),
            "total": _seconds(seconds.get("total", report.seconds)),
        },
        "requests": report.requests.get("requests", 0),
        "requests_by_endpoint": dict(report.requests_by_endpoint),
        "retries": report.requests.get("retries", 0),
        "rate_limited": report.requests.get("rate_limited", 0),
        "full_reads": list(report.full_reads),
        "events_applied": report.events_seen,
        "objects_refetched": report.objects_refetched,
        "mrr_customers": report.mrr["customers"] if report.mrr is not None else None,
        "rejected": report.rejected,  # quarantined this run: exit 8
        "streams": streams,
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary for a person (stderr) or a log file: one header line, one line per stream."""
    s = summary["seconds"]
    phases = [f"fetch {s['fetch']:.1f}s"]
    phases += [f"{label} {s[key]:.1f}s" for key, label in (("mapping", "mapping"), ("mrr", "MRR")) if s[key] is not None]
    lines = [
        f"synced {summary['db']} in {s['total']:.1f}s ({', '.join(phases)}): {summary['requests']:,} requests, "
        f"{summary['retries']:,} retried, {summary['rate_limited']:,} rate-limited (429)"
    ]
    lines.append(f"  {'stream':<20} {'rows':>9} {'created':>8} {'updated':>8} {'deleted':>8}")
    for row in summary["streams"]:
        lines.append(
            f"  {row['stream']:<20} {row['rows']:>9,} {row['created']:>8,} {row['updated']:>8,} {row['deleted']:>8,}"
            + ("  FAILED" if row["error"] else "")
        )
    if summary.get("requests_by_endpoint"):
        lines.append("  " + requests_line(summary["requests_by_endpoint"]))
    if summary["events_applied"]:
        lines.append(f"  events applied: {summary['events_applied']:,}, objects re-read: {summary['objects_refetched']:,}")
    if summary["mrr_customers"] is not None:
        lines.append(f"  MRR refreshed for {summary['mrr_customers']:,} customers")
    return lines


def requests_line(by_endpoint: dict[str, int], most: int = 6) -> str:
    """``requests per endpoint: /v1/invoices 120, /v1/customers 20, ... (+3 more: 5)``, busiest first."""
    ranked = sorted(by_endpoint.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{endpoint} {count:,}" for endpoint, count in ranked[:most])
    rest = ranked[most:]
    if rest:
        shown += f" (+{len(rest)} more: {sum(count for _, count in rest):,})"
    return f"requests per endpoint: {shown}"
