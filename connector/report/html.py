"""The HTML report: one self-contained file, readable offline, nothing fetched.

Charts are inline SVG (``svg.py``), styles inline; a Content-Security-Policy
forbids every network load, so the file renders the same on a laptop on a
plane. A tiny inline script records page errors into ``data-page-errors`` on
the root element (the browser test reads it from the rendered DOM). Every
string taken from the data (customer ids, policy values) is escaped.
"""

from __future__ import annotations

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
from ..mrr.metrics import format_rate

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
    ("fx_minor", "FX", SIGNED),
    ("net_new_mrr_minor", "Net new MRR", SIGNED),
    ("gross_mrr_churn_rate", "Gross MRR churn", RATE),
    ("net_mrr_churn_rate", "Net MRR churn", RATE),
    ("gross_revenue_retention", "GRR", RATE),
    ("net_revenue_retention", "NRR", RATE),
    ("customer_churn_rate", "Customer churn", RATE),
    ("quick_ratio", "Quick ratio", RATIO),
)
MOVEMENT_KINDS = ("new", "expansion", "reactivation", "contraction", "churn")
COHORT_MONTHS = 12      # cohorts (rows) and months since the first (columns) in the heatmap
TOP_PLANS = 12

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
.headline { flex-wrap: wrap; } .headline div { min-width: 150px; }
.delta { display: block; font-size: 12px; } .delta.pos { color: #2e7d32; } .delta.neg { color: #c62828; }
.id { color: #999; font-size: 11px; }
td.heat { text-align: center; min-width: 44px; }
section.reporting h2 { border-bottom-color: #00897b; }
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


def metrics_table(section: CurrencySection, view: str = "currency") -> str:
    columns = [c for c in METRIC_COLUMNS if c[0] != "fx_minor" or any("fx_minor" in r for r in section.months)]
    head = "".join(f"<th>{escape(title)}</th>" for _, title, _ in columns)
    rows = []
    for row in reversed(section.months):    # newest first: the month people look for
        cells = "".join(_cell(row, key, kind, section.currency) for key, _, kind in columns)
        rows.append(f'<tr class="metrics-row" data-month="{escape(row["month"])}"><td>{escape(row["month"])}</td>{cells}</tr>')
    return (
        f'<div class="table-wrap"><table class="metrics" data-currency="{escape(section.currency)}" data-view="{view}">'
        f"<thead><tr><th>Month</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _customer_label(entry) -> str:
    """A customer's name with their id beside it (an imported account has ids only)."""
    name, cid = entry.get("name"), str(entry["customer_id"])
    if not name:
        return f"<td>{escape(cid)}</td>"
    return f'<td>{escape(name)} <span class="id">{escape(cid)}</span></td>'


def _top_customers(section: CurrencySection) -> str:
    if not section.top_customers:
        return "<p>No paying customer on this day.</p>"
    rows = "".join(
        f'<tr class="customer-row">{_customer_label(c)}<td>{escape(format_minor(c["mrr_minor"], section.currency))}</td></tr>'
        for c in section.top_customers
    )
    return f'<table class="top-customers"><thead><tr><th>Customer</th><th>MRR</th></tr></thead><tbody>{rows}</tbody></table>'


def _movers(section: CurrencySection) -> str:
    if not section.movers:
        return "<p>No customer's MRR changed this month.</p>"
    fmt = lambda amount, signed=False: escape(format_minor(amount, section.currency, signed=signed))  # noqa: E731
    rows = "".join(
        f'<tr class="mover-row">{_customer_label(m)}<td>{escape(m["kind"])}</td><td>{fmt(m["before_minor"])}</td>'
        f'<td>{fmt(m["after_minor"])}</td><td class="{"pos" if m["change_minor"] > 0 else "neg"}">'
        f'{fmt(m["change_minor"], True)}</td></tr>'
        for m in section.movers
    )
    return ('<table class="movers"><thead><tr><th>Customer</th><th>Movement</th><th>Last month</th><th>This month</th>'
            f"<th>Change</th></tr></thead><tbody>{rows}</tbody></table>")


def _heat(rate: str | None) -> str:
    """A cell colour for a retention rate: white at 0 %, deep blue at 100 % and above."""
    if rate is None:
        return ""
    level = max(0.0, min(float(rate), 1.0))        # a colour, not a figure: a float is fine here
    light = round(255 - 170 * level)
    text = "#fff" if level > 0.6 else "#222"
    return f' style="background: rgb({light}, {round(255 - 120 * level)}, 255); color: {text}"'


def cohort_heatmap(section: CurrencySection, key: str = "revenue_retention") -> str:
    """The last cohorts (rows) by months since their first (columns): retention as a coloured percentage."""
    cohorts = sorted({r["cohort"] for r in section.cohorts})[-COHORT_MONTHS:]
    if not cohorts:
        return "<p>No cohort yet.</p>"
    cells = {(r["cohort"], r["months_since"]): r for r in section.cohorts}
    head = "".join(f"<th>+{k}</th>" for k in range(COHORT_MONTHS + 1))
    rows = []
    for cohort in reversed(cohorts):
        first = cells[(cohort, 0)]
        tds = "".join(
            f'<td class="heat"{_heat(cells[(cohort, k)][key])}>{escape(format_percent(cells[(cohort, k)][key]))}</td>'
            if (cohort, k) in cells else "<td></td>" for k in range(COHORT_MONTHS + 1))
        rows.append(f'<tr class="cohort-row"><td>{escape(cohort)}</td><td>{first["cohort_customers"]:,}</td>'
                    f'<td>{escape(format_minor(first["cohort_mrr_minor"], section.currency))}</td>{tds}</tr>')
    return (f'<div class="table-wrap"><table class="cohort-heatmap" data-key="{escape(key)}"><thead><tr><th>Cohort</th>'
            f"<th>Customers</th><th>First MRR</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _change_text(section: CurrencySection) -> str:
    """``+1,234.56 (+5.2 %) since the end of last month``."""
    h = section.headline
    if h.change_minor is None:
        return ""
    css = "pos" if h.change_minor > 0 else "neg" if h.change_minor < 0 else ""
    rate = f" ({'+' if h.change_minor > 0 else ''}{format_percent(h.change_rate)})" if h.change_rate is not None else ""
    return (f'<span class="delta {css}">{escape(format_minor(h.change_minor, section.currency, signed=True))}'
            f"{escape(rate)} since {escape(h.previous_month)}</span>")


def headline_row(section: CurrencySection, as_of: date) -> str:
    h = section.headline
    money = lambda amount: escape(format_money(amount, section.currency))   # noqa: E731
    if h is None:
        return ""
    period = f"in {h.last_complete_month}" if h.last_complete_month else "last month"
    tiles = [
        ("MRR on " + as_of.isoformat(), f'<b class="current-mrr">{money(h.mrr_minor)}</b>{_change_text(section)}'),
        ("ARR", f"<b>{money(h.arr_minor)}</b>"),
        ("Paying customers", f"<b>{h.customers:,}</b>"),
        (f"NRR {period}", f'<b class="nrr-month">{escape(format_percent(h.nrr_month))}</b>'),
        ("NRR, trailing 12 months", f'<b class="nrr-ttm">{escape(format_percent(h.nrr_ttm))}</b>'),
        (f"Gross MRR churn {period}", f'<b class="churn-month">{escape(format_percent(h.gross_churn_month))}</b>'),
        ("Gross MRR churn, trailing 12 months", f'<b class="churn-ttm">{escape(format_percent(h.gross_churn_ttm))}</b>'),
    ]
    return '<div class="headline">' + "".join(f"<div>{escape(label)}{value}</div>" for label, value in tiles) + "</div>"


def currency_section(section: CurrencySection, as_of: date, reporting: bool = False) -> str:
    code = section.currency.upper()
    labels = [row["month"] for row in section.months]
    fmt = lambda amount: format_minor(amount, section.currency)   # noqa: E731 - one-line formatter
    if reporting:
        parts = {f"{c.upper()} in {code}": values for c, values in section.lines.items()}
        line = svg.multi_line_chart(f"MRR in {code}, month-end, and each currency's part", labels,
                                    (f"total in {code}", [row["mrr_minor"] for row in section.months]), parts, fmt)
    else:
        line = svg.line_chart(f"MRR in {code}, month-end", labels, [row["mrr_minor"] for row in section.months], fmt)
    kinds = (*MOVEMENT_KINDS, "fx") if reporting else MOVEMENT_KINDS
    series = {kind: [row.get(f"{kind}_minor") or 0 for row in section.months] for kind in kinds}
    bars = svg.movements_chart(f"MRR movements in {code} per month", labels, series, fmt)
    plans = svg.bar_chart(f"MRR by plan in {code}", section.plans[:TOP_PLANS], fmt)
    share = f" · {format_percent(format_rate(section.share))} of MRR" if section.share is not None else ""
    if reporting:
        heading, anchor = f"All currencies in {code}", "reporting"
        sources = f'<p class="meta rate-sources">Rates on {escape(as_of.isoformat())}: {escape(section.rate_sources or "none needed")}.</p>'
    else:
        heading, anchor, sources = f"{code}{share}", f"currency-{section.currency}", ""
    css = "reporting" if reporting else "currency"
    return f"""
<section class="{css}" id="{escape(anchor)}" data-currency="{escape(section.currency)}">
  <h2>{escape(heading)}</h2>
  {sources}
  {headline_row(section, as_of)}
  <h3>MRR over time</h3>
  {line}
  <h3>Movements{" (fx: the exchange-rate effect)" if reporting else ""}</h3>
  {bars}
  <h3>Largest movers of {escape(labels[-1] if labels else as_of.isoformat()[:7])}</h3>
  {_movers(section)}
  <h3>Largest customers on {escape(as_of.isoformat())}</h3>
  {_top_customers(section)}
  <h3>MRR by plan, {escape(as_of.isoformat()[:7])}</h3>
  {plans}
  <h3>Cohort retention: MRR of each first-paid month's customers, as a share of their first month</h3>
  {cohort_heatmap(section)}
  <h3>Monthly metrics</h3>
  {metrics_table(section, css)}
</section>"""


def _rule_title(rule: str) -> str:
    """``cancel_at_period_end_churn`` → ``Cancel at period end churn`` (docs/mrr-rules.md explains each)."""
    return rule.replace("_", " ").capitalize()


def _rule_value(value: Any) -> str:
    """A rule's setting as a person reads it: yes/no, lists joined, words without underscores."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_rule_value(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{_rule_title(str(k)).lower()}: {_rule_value(v)}" for k, v in value.items()) or "none"
    return str(value).replace("_", " ")


def _policy_section(data: ReportData) -> str:
    policy = data.policy
    how = (
        "computed for this report from the stored revenue segments (the stored figures use other rules)"
        if policy.computed_on_the_fly else "the figures stored by the last sync or backfill"
    )
    if policy.rules:
        rows = "".join(
            f'<tr><th>{escape(_rule_title(rule))}</th><td>{escape(_rule_value(value))}</td>'
            f"<td><code>{escape(rule)}</code></td></tr>"
            for rule, value in policy.rules.items() if rule != "name"
        )
        rules = (f'<table class="policy-rules"><thead><tr><th>Rule</th><th>Setting</th><th>Name in config.toml</th>'
                 f"</tr></thead><tbody>{rows}</tbody></table>")
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
    if data.stale_rates:
        notes.append(f"The newest ECB reference rate these figures use is from {data.stale_rates}: run a report "
                     "with --refresh-rates where a network exists to bring the rates up to date.")
    if data.reporting is None and len(data.sections) > 1:
        notes.append("Currencies are shown apart: set mrr.reporting_currency (or pass --reporting-currency) for one "
                     "total in one currency, with the exchange-rate effect as its own movement.")
    return "".join(f'<p class="note">{escape(note)}</p>' for note in notes)


def render_report(data: ReportData, *, generated_at: datetime | None = None) -> str:
    """The whole HTML document for ``data`` (a string; nothing written)."""
    generated = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    currencies = ", ".join(s.currency.upper() for s in data.sections) or "none"
    sections = "".join(currency_section(section, data.as_of) for section in data.sections)
    if data.reporting is not None:
        sections = currency_section(data.reporting, data.as_of, reporting=True) + sections
        shown = (f"reporting currency <b>{escape(data.reporting.currency.upper())}</b> (ECB reference rates, "
                 f"your rates file first), then each currency on its own, largest first: {escape(currencies)}")
    else:
        shown = f"currencies: {escape(currencies)} (each shown on its own, never added together)"
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
{shown} · all amounts in major units of their currency.</p>
{_notes(data)}
{sections}
{_policy_section(data)}
<footer>Generated by billing-connector on {escape(generated)}. Month figures are the MRR on each month's last day.</footer>
</body>
</html>
"""


def write_report(store: Store, path: str | os.PathLike[str], policy=None, *, as_of: date | None = None,
                 rates=None) -> Path:
    """Write the HTML report for ``policy`` (None: the stored figures) to ``path``; returns the path.

    The file is written next to its final name and renamed into place, so an
    interrupted run never leaves half a report; it gets the store's mode (0600). Raises ConfigError when the
    folder does not exist or cannot be written, NoMrrData when there is nothing
    to report.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise ConfigError(f"folder {target.parent} does not exist: create it or pass another --html path")
    document = render_report(load_report_data(store, policy, as_of=as_of, rates=rates))
    try:
        # the store's mode, a fresh private name (never a planted `<report>.partial`), then a rename
        write_text_atomically(target, document, mode_like(store.path))
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}; check the path and its permissions") from None
    return target
