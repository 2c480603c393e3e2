"""The HTML report: one self-contained file, readable offline, nothing fetched.

Charts are inline SVG (``svg.py``), styles inline; a Content-Security-Policy
forbids every network load, so the file renders the same on a laptop on a
plane. A tiny inline script records page errors into ``data-page-errors`` on
the root element (the browser test reads it from the rendered DOM). Every
string taken from the data (customer ids, policy values) is escaped.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..private_files import mode_like, write_text_atomically
from ..store import Store
from . import svg
from .data import CurrencySection, ReportData, load_report_data
from .money import format_minor, format_money, format_percent, format_ratio

MONEY, COUNT, RATE, RATIO, SIGNED = "money", "count", "rate", "ratio", "signed"

# (column key, heading, kind) of the metrics table, in order.
METRIC_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("mrr_minor", "MRR", MONEY),
    ("arr_minor", "ARR", MONEY),
    ("customers", "Customers", COUNT),
    ("arpu_minor", "ARPU", MONEY),
    ("new_minor", "New", SIGNED),
    ("expansion_minor", "Expansion", SIGNED),
    ("contraction_minor", "Contraction", SIGNED),
    ("churn_minor", "Churn", SIGNED),
    ("reactivation_minor", "Reactivation", SIGNED),
    ("net_new_mrr_minor", "Net new MRR", SIGNED),
    ("gross_mrr_churn_rate", "Gross MRR churn", RATE),
    ("net_mrr_churn_rate", "Net MRR churn", RATE),
    ("gross_revenue_retention", "GRR", RATE),
    ("net_revenue_retention", "NRR", RATE),
    ("customer_churn_rate", "Customer churn", RATE),
    ("quick_ratio", "Quick ratio", RATIO),
)
MOVEMENT_KINDS = ("new", "expansion", "reactivation", "contraction", "churn")

# Errors and blocked loads end up on the root element; a script error in the
# page is then visible to anyone (and any test) reading the DOM.
_ERROR_PROBE = """<script>
(function () {
  var root = document.documentElement, errors = [];
  function note(text) { errors.push(String(text)); root.setAttribute("data-page-errors", JSON.stringify(errors)); }
  window.addEventListener("error", function (e) { note(e.message || "resource failed to load"); }, true);
  window.addEventListener("unhandledrejection", function (e) { note(e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) { note("blocked " + e.blockedURI); });
  root.setAttribute("data-page-errors", "[]");
  window.addEventListener("load", function () {
    root.setAttribute("data-rendered-svgs", String(document.querySelectorAll("svg.chart").length));
  });
})();
</script>"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 24px auto; max-width: 1320px; padding: 0 16px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 2px solid #3949ab; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; color: #444; }
.meta { color: #666; margin: 0 0 16px; }
.note { background: #fff8e1; border-left: 4px solid #ffb300; padding: 6px 10px; margin: 8px 0; }
.headline { display: flex; gap: 28px; margin: 8px 0 12px; }
.headline div { background: #f4f5fb; border-radius: 6px; padding: 8px 14px; }
.headline b { display: block; font-size: 20px; }
.chart { display: block; max-width: 100%; height: auto; background: #fff; }
.chart text { font-size: 12px; fill: #444; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 12px; }
th, td { padding: 3px 6px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f5fb; position: sticky; top: 0; white-space: normal; vertical-align: bottom; }
td.neg { color: #c62828; } td.pos { color: #2e7d32; }
.policy td, .policy th { text-align: left; }
footer { color: #888; margin-top: 40px; font-size: 12px; }
"""


def _cell(row: dict[str, Any], key: str, kind: str, currency: str) -> str:
    value = row.get(key)
    if kind == MONEY:
        text, css = format_minor(value, currency), ""
    elif kind == SIGNED:
        text = format_minor(value, currency, signed=True)
        css = "pos" if value and value > 0 else "neg" if value and value < 0 else ""
    elif kind == RATE:
        text, css = format_percent(value), ""
    elif kind == RATIO:
        text, css = format_ratio(value), ""
    else:
        text, css = f"{value:,}" if value is not None else "–", ""
    css_attr = f' class="{css}"' if css else ""
    return f"<td{css_attr}>{escape(text)}</td>"


def metrics_table(section: CurrencySection) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for _, title, _ in METRIC_COLUMNS)
    rows = []
    for row in reversed(section.months):    # newest first: the month people look for
        cells = "".join(_cell(row, key, kind, section.currency) for key, _, kind in METRIC_COLUMNS)
        rows.append(f'<tr class="metrics-row" data-month="{escape(row["month"])}"><td>{escape(row["month"])}</td>{cells}</tr>')
    return (
        f'<div class="table-wrap"><table class="metrics" data-currency="{escape(section.currency)}">'
        f"<thead><tr><th>Month</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _top_customers(section: CurrencySection) -> str:
    if not section.top_customers:
        return "<p>No paying customer on this day.</p>"
    rows = "".join(
        f'<tr class="customer-row"><td>{escape(str(c["customer_id"]))}</td>'
        f"<td>{escape(format_minor(c['mrr_minor'], section.currency))}</td></tr>"
        for c in section.top_customers
    )
    return f'<table class="top-customers"><thead><tr><th>Customer</th><th>MRR</th></tr></thead><tbody>{rows}</tbody></table>'


def currency_section(section: CurrencySection, as_of: date) -> str:
    code = section.currency.upper()
    labels = [row["month"] for row in section.months]
    fmt = lambda amount: format_minor(amount, section.currency)   # noqa: E731 - one-line formatter
    line = svg.line_chart(f"MRR in {code}, month-end", labels, [row["mrr_minor"] for row in section.months], fmt)
    series = {kind: [row[f"{kind}_minor"] for row in section.months] for kind in MOVEMENT_KINDS}
    bars = svg.movements_chart(f"MRR movements in {code} per month", labels, series, fmt)
    arr = 12 * section.current_mrr_minor
    return f"""
<section class="currency" id="currency-{escape(section.currency)}" data-currency="{escape(section.currency)}">
  <h2>{escape(code)}</h2>
  <div class="headline">
    <div>MRR on {escape(as_of.isoformat())}<b class="current-mrr">{escape(format_money(section.current_mrr_minor, section.currency))}</b></div>
    <div>ARR<b>{escape(format_money(arr, section.currency))}</b></div>
    <div>Paying customers<b>{section.current_customers:,}</b></div>
  </div>
  <h3>MRR over time</h3>
  {line}
  <h3>Movements</h3>
  {bars}
  <h3>Monthly metrics</h3>
  {metrics_table(section)}
  <h3>Largest customers on {escape(as_of.isoformat())}</h3>
  {_top_customers(section)}
</section>"""


def _policy_section(data: ReportData) -> str:
    policy = data.policy
    how = (
        "computed for this report from the stored revenue segments (the stored figures use other rules)"
        if policy.computed_on_the_fly else "the figures stored by the last sync or backfill"
    )
    if policy.rules:
        rows = "".join(
            f"<tr><th>{escape(rule)}</th><td>{escape(json.dumps(value))}</td></tr>"
            for rule, value in policy.rules.items() if rule != "name"
        )
        rules = f'<table class="policy-rules">{rows}</table>'
    else:
        rules = "<p>The stored figures were made with rules this version cannot name; rerun with --policy NAME.</p>"
    return f"""
<section class="policy" id="policy">
  <h2>Policy: <span class="policy-name">{escape(policy.name)}</span></h2>
  <p class="meta">Rules fingerprint <code>{escape(policy.fingerprint)}</code>; {escape(how)}.</p>
  {rules}
</section>"""


def _notes(data: ReportData) -> str:
    notes = []
    if data.stale:
        notes.append(
            f"The MRR figures were computed as of {data.computed_as_of.isoformat()}: run `billing-connector sync` "
            "to bring them up to date."
        )
    current = f"{data.as_of.year:04d}-{data.as_of.month:02d}"
    if any(section.months and section.months[-1]["month"] == current for section in data.sections):
        # The engine's figure for an unfinished month is the MRR on its as-of day, not on the month's last day.
        figure_day = min(data.as_of, data.computed_as_of or data.as_of).isoformat()
        notes.append(f"{current} is not over: its month figure is the MRR on {figure_day}.")
    return "".join(f'<p class="note">{escape(note)}</p>' for note in notes)


def render_report(data: ReportData, *, generated_at: datetime | None = None) -> str:
    """The whole HTML document for ``data`` (a string; nothing written)."""
    generated = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    currencies = ", ".join(s.currency.upper() for s in data.sections) or "none"
    sections = "".join(currency_section(section, data.as_of) for section in data.sections)
    if not data.sections:
        sections = "<p>No MRR in any currency.</p>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MRR report — {escape(data.as_of.isoformat())}</title>
{_ERROR_PROBE}
<style>{_STYLE}</style>
</head>
<body>
<h1>MRR report</h1>
<p class="meta">As of {escape(data.as_of.isoformat())} · policy <b>{escape(data.policy.name)}</b> ·
currencies: {escape(currencies)} (each shown on its own, never added together) · all amounts in major units of their currency.</p>
{_notes(data)}
{sections}
{_policy_section(data)}
<footer>Generated by billing-connector on {escape(generated)}. Month figures are the MRR on each month's last day.</footer>
</body>
</html>
"""


def write_report(store: Store, path: str | os.PathLike[str], policy=None, *, as_of: date | None = None) -> Path:
    """Write the HTML report for ``policy`` (None: the stored figures) to ``path``; returns the path.

    The file is written next to its final name and renamed into place, so an
    interrupted run never leaves half a report; it gets the store's mode (0600). Raises ConfigError when the
    folder does not exist or cannot be written, NoMrrData when there is nothing
    to report.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise ConfigError(f"folder {target.parent} does not exist: create it or pass another --html path")
    document = render_report(load_report_data(store, policy, as_of=as_of))
    try:
        # the store's mode, a fresh private name (never a planted `<report>.partial`), then a rename
        write_text_atomically(target, document, mode_like(store.path))
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}; check the path and its permissions") from None
    return target
