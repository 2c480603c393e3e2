"""The HTML report rendered by a real browser (headless Chromium): it draws, it holds
what it should, and the page raises no error and loads nothing from the network."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from connector.mrr.policy import load_policy
from connector.mrr.reporting_rates import open_rates
from connector.report.html import write_report

from tests.support.chromium import CHROMIUM, dump_dom, page_console_errors, screenshot
from tests.support.mrr_store import AS_OF, HOSTILE_ID
from tests.support.png import count_colour, non_white_fraction, read_png

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (`make test` installs it)")

CHURN_RED = (0xE5, 0x39, 0x35)
NEW_GREEN = (0x2E, 0x7D, 0x32)
LINE_BLUE = (0x39, 0x49, 0xAB)


class Outline(HTMLParser):
    """What the rendered DOM holds: element counts per tag/class, sections, table rows, attributes."""

    def __init__(self):
        super().__init__()
        self.root_attrs: dict[str, str] = {}
        self.sections: list[str] = []
        self.svgs: list[str] = []
        self.paths = self.rects = 0
        self.rows: dict[str, list[str]] = {}
        self.bars: dict[str, int] = {}
        self._table_currency = None
        self._cells: list[str] | None = None
        self._text = ""
        self.customer_cells: list[str] = []
        self.heat_cells = 0
        self._in_customer_row = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "html":
            self.root_attrs = attrs
        elif tag == "section" and "currency" in classes:
            self.sections.append(attrs["data-currency"])
        elif tag == "section" and "reporting" in classes:
            self.sections.append("reporting:" + attrs["data-currency"])
        elif tag == "svg" and "chart" in classes:
            self.svgs.append(" ".join(classes))
        elif tag == "td" and "heat" in classes:
            self.heat_cells += 1
        elif tag == "path":
            self.paths += 1
        elif tag == "rect":
            self.rects += 1
            if "data-kind" in attrs:
                self.bars[attrs["data-kind"]] = self.bars.get(attrs["data-kind"], 0) + 1
        elif tag == "table" and "metrics" in classes:
            self._table_currency = attrs["data-currency"] + ("" if attrs["data-view"] == "currency" else "-reporting")
            self.rows[self._table_currency] = []
        elif tag == "tr" and "metrics-row" in classes:
            self._cells = []
        elif tag == "tr" and "customer-row" in classes:
            self._in_customer_row = True
        elif tag == "td":
            self._text = ""

    def handle_data(self, data):
        self._text += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cells is not None:
            self._cells.append(self._text.strip())
        elif tag == "td" and self._in_customer_row:
            self.customer_cells.append(self._text.strip())
        elif tag == "tr" and self._cells is not None:
            self.rows[self._table_currency].append(" | ".join(self._cells))
            self._cells = None
        elif tag == "tr":
            self._in_customer_row = False


@pytest.fixture
def report_page(mrr_store, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nKWD,3.25\n")     # the ECB publishes no KWD rate: the file gives it
    return write_report(mrr_store, tmp_path / "report.html", load_policy("default"), as_of=AS_OF,
                        rates=open_rates("usd", rates))


def bars_expected(store) -> dict[str, int]:
    return {
        kind: store.db.execute(
            f"SELECT count(*) FROM mrr_monthly_metrics WHERE _deleted = 0 AND month <= '2019-12' AND {kind}_minor != 0"
        ).fetchone()[0]
        for kind in ("new", "expansion", "contraction", "churn", "reactivation")
    }


def converted_bars_expected(store) -> dict[str, int]:
    return {
        kind: store.db.execute(
            f"SELECT count(DISTINCT month) FROM mrr_monthly_metrics WHERE _deleted = 0 AND month <= '2019-12' "
            f"AND {kind}_minor != 0").fetchone()[0]
        for kind in ("new", "expansion", "contraction", "churn", "reactivation")
    }


def test_rendered_dom_holds_charts_tables_and_sections_without_page_errors(report_page, mrr_store, tmp_path):
    run = dump_dom(report_page, tmp_path / "profile-dom")
    outline = Outline()
    outline.feed(run.stdout)

    assert json.loads(outline.root_attrs["data-page-errors"]) == []
    assert page_console_errors(run.stderr) == []
    # the converted view first, then the currencies by their share of it (USD, then 12.345 KWD = $40.12,
    # then ¥1,000 = $9.13), not alphabetically
    assert outline.sections == ["reporting:usd", "usd", "kwd", "jpy"]
    # every chart drawn: MRR line(s), movements, MRR by plan, in each of the four sections
    assert outline.root_attrs["data-rendered-svgs"] == "12"
    assert outline.svgs == (["chart multi-line-chart", "chart movements-chart", "chart bar-chart"]
                            + ["chart line-chart", "chart movements-chart", "chart bar-chart"] * 3)
    # total + one line per currency in the converted chart; one line + one area per currency chart
    assert outline.paths == 4 + 2 * 3
    # one bar per month and movement that moved MRR in each currency, plus one per month in the converted
    # view (no customer pays in two currencies here), counted straight from the facts table
    per_currency, converted_months = bars_expected(mrr_store), converted_bars_expected(mrr_store)
    assert {k: v for k, v in outline.bars.items() if k != "fx"} == {
        kind: per_currency[kind] + converted_months[kind] for kind in per_currency}
    assert outline.bars["fx"] >= 1 and outline.bars["churn"] >= 2 and outline.bars["reactivation"] >= 1
    assert outline.heat_cells > 0
    assert outline.rows["jpy"][:2] == [
        "2019-12 | 1,000 | 12,000 | 1 | 1,000 | 0 | 0 | 0 | 0 | 0 | 0 | 0.0 % | 0.0 % | 100.0 % | 100.0 % "
        "| 0.0 % | –",
        "2019-11 | 1,000 | 12,000 | 1 | 1,000 | 0 | 0 | 0 | 0 | 0 | 0 | 0.0 % | 0.0 % | 100.0 % | 100.0 % "
        "| 0.0 % | –",
    ]
    assert outline.rows["jpy"][3] == (
        "2019-09 | 1,000 | 12,000 | 1 | 1,000 | 0 | 0 | 0 | -3,000 | 0 | -3,000 | 75.0 % | 75.0 % | 25.0 % "
        "| 25.0 % | 50.0 % | 0.00"
    )
    assert outline.rows["kwd"][-1] == (
        "2019-10 | 12.345 | 148.140 | 1 | 12.345 | +12.345 | 0.000 | 0.000 | 0.000 | 0.000 | +12.345 "
        "| – | – | – | – | – | –")
    assert len(outline.rows["usd"]) == 28    # 2017-09 .. 2019-12
    # the converted December: $1,255.00 + 12.345 KWD × 3.25 = $40.12 + ¥1,000 at the ECB's 13 December
    # 2019 fixing (the as-of day, 15 December, is a Sunday): 1000 / 122.43 × 1.1174 = $9.13 → $1,304.25
    december = outline.rows["usd-reporting"][0].split(" | ")
    assert december[:4] == ["2019-12", "1,304.25", "15,651.00", "30"]
    # the hostile customer id arrived as text, not as a script
    assert HOSTILE_ID in outline.customer_cells
    assert "<script>alert" not in run.stdout


def test_screenshot_shows_the_charts(report_page, tmp_path):
    shot = tmp_path / "report.png"
    run = screenshot(report_page, tmp_path / "profile-shot", shot)
    print(f"screenshot: {shot}")
    assert page_console_errors(run.stderr) == []
    image = read_png(shot)
    assert (image.width, image.height) == (1280, 2000)
    # Text, charts and tables cover a fair part of the page; a blank or broken page does not.
    assert 0.05 < non_white_fraction(image) < 0.6
    # The first section (JPY) is in view: its MRR line and its new and churn bars are drawn.
    assert count_colour(image, LINE_BLUE) > 1000
    assert count_colour(image, NEW_GREEN) > 1000
    assert count_colour(image, CHURN_RED) > 1000


def test_the_error_checks_catch_a_broken_page(tmp_path):
    """The two checks above can fail: a throwing script and a blocked network load are both seen."""
    from connector.report.html import _CSP, _ERROR_PROBE

    page = tmp_path / "broken.html"
    page.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{_CSP}">{_ERROR_PROBE}'
        '</head><body><img src="http://127.0.0.1:9/x.png"><script>throw new Error("boom");</script></body></html>'
    )
    run = dump_dom(page, tmp_path / "profile-broken")
    outline = Outline()
    outline.feed(run.stdout)
    errors = json.loads(outline.root_attrs["data-page-errors"])
    assert {"Uncaught Error: boom", "blocked http://127.0.0.1:9/x.png"} <= set(errors)
    console = page_console_errors(run.stderr)
    assert any('"Uncaught Error: boom"' in line for line in console)
    assert any("violates the following Content Security Policy directive" in line for line in console)
