"""The terminal summary: MRR now per currency and the last 12 months with their movements.

``summary_rows`` returns plain data (minor units plus exact display text) for
``make demo`` and ``billing-connector report`` without ``--html``;
``format_summary`` turns it into aligned text lines.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..store import Store
from .data import collect, empty_month, facts_for, load_report_data, month_of, month_range, today_utc
from .money import format_minor

SUMMARY_MONTHS = 12
_MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


def _months_back(last: str, count: int) -> str:
    year, month = int(last[:4]), int(last[5:7]) - (count - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def summary_rows(store: Store, policy=None, *, as_of: date | None = None, months: int = SUMMARY_MONTHS,
                 rates=None) -> dict[str, Any]:
    """MRR on ``as_of`` (default today, UTC) per currency and the last ``months`` months, oldest first.

    ``policy`` None reports the stored figures; a Policy computes them on the
    fly when the stored ones were made under other rules. Shape::

        {"as_of": "2026-11-23", "policy": "default", "policy_fingerprint": "…", "computed_through": "2026-11",
         "computed_as_of": "2026-11-23",
         "currencies": [{"currency": "usd", "mrr_minor": 123400, "mrr": "1,234.00",
                         "customers": 12,
                         "months": [{"month": "2025-12", "mrr_minor": …, "mrr": "…",
                                     "customers": …, "new_minor": …, …, "net_new_mrr_minor": …}, …]}]}

    With ``rates`` (a reporting currency) also ``"reporting"``: the same block in that currency, its
    months with ``fx_minor`` (the converted view, connector.mrr.converted). Months without any customer
    are rows of zeros, so every currency has exactly ``months`` rows. Raises NoMrrData when there is
    nothing to report.
    """
    as_of = as_of or today_utc()
    last = month_of(as_of)
    window = month_range(_months_back(last, months), last)
    if rates is not None:
        data = load_report_data(store, policy, as_of=as_of, rates=rates)
        info = data.policy
    else:
        with facts_for(store, policy, as_of=as_of) as (facts, info):
            data = collect(facts, info, as_of)
    summary = {
        "as_of": as_of.isoformat(),
        "policy": info.name,
        "policy_fingerprint": info.fingerprint,
        "computed_through": data.computed_through,
        "computed_as_of": data.computed_as_of.isoformat() if data.computed_as_of else None,
        "currencies": [_block(section, window, _MOVEMENTS) for section in data.sections],
    }
    if data.reporting is not None:
        summary["reporting"] = _block(data.reporting, window, (*_MOVEMENTS, "fx"))
    return summary


def _block(section, window: list[str], kinds: tuple[str, ...]) -> dict[str, Any]:
    by_month = {row["month"]: row for row in section.months}
    rows = []
    for month in window:
        row = by_month.get(month) or empty_month(month, section.currency)
        rows.append({
            "month": month,
            "mrr_minor": row["mrr_minor"],
            "mrr": format_minor(row["mrr_minor"], section.currency),
            "customers": row["customers"],
            **{f"{kind}_minor": row.get(f"{kind}_minor") or 0 for kind in kinds},
            "net_new_mrr_minor": row["net_new_mrr_minor"],
        })
    return {
        "currency": section.currency,
        "mrr_minor": section.current_mrr_minor,
        "mrr": format_minor(section.current_mrr_minor, section.currency),
        "customers": section.current_customers,
        "months": rows,
    }


def format_summary(summary: dict[str, Any]) -> list[str]:
    """Aligned text lines for a terminal, one block per currency."""
    lines = [f"MRR on {summary['as_of']} (policy {summary['policy']})"]
    computed_as_of = summary.get("computed_as_of")
    if computed_as_of and computed_as_of < summary["as_of"]:
        lines.append(f"note: figures computed as of {computed_as_of}; run `billing-connector sync` to update them")
    blocks = ([(summary["reporting"], "all currencies in ")] if summary.get("reporting") else [])
    blocks += [(block, "") for block in summary["currencies"]]
    for block, label in blocks:
        currency = block["currency"]
        kinds = (*_MOVEMENTS, "fx") if label else _MOVEMENTS
        headings = ("month", "MRR", "customers", *kinds, "net new")
        lines.append("")
        noun = "paying customer" if block["customers"] == 1 else "paying customers"
        lines.append(f"{label}{currency.upper()}: {block['mrr']} MRR, {block['customers']:,} {noun}")
        table = [headings]
        for row in block["months"]:
            table.append((
                row["month"], row["mrr"], f"{row['customers']:,}",
                *(format_minor(row[f"{kind}_minor"], currency, signed=True) for kind in kinds),
                format_minor(row["net_new_mrr_minor"], currency, signed=True),
            ))
        widths = [max(len(r[i]) for r in table) for i in range(len(headings))]
        for row in table:
            lines.append("  " + "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))
            ))
    if not summary["currencies"]:
        lines.append("no MRR in any currency")
    return lines
