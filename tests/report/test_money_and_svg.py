"""Exact money text and the SVG chart geometry, without a browser."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.mrr.model import currency_exponent

from connector.report import svg
from connector.report.money import format_minor, format_money, format_percent, format_ratio


@pytest.mark.parametrize("amount, currency, signed, text", [
    (123456, "usd", False, "1,234.56"),
    (-5, "usd", False, "-0.05"),
    (0, "eur", True, "0.00"),
    (250, "usd", True, "+2.50"),
    (1000, "jpy", False, "1,000"),
    (12345, "kwd", False, "12.345"),
    (-1234567890123, "usd", True, "-12,345,678,901.23"),
    (None, "usd", False, "–"),
])
def test_format_minor(amount, currency, signed, text):
    assert format_minor(amount, currency, signed=signed) == text


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        format_minor(12.5, "usd")
    assert format_money(148140, "KWD") == "148.140 KWD"


@pytest.mark.parametrize("rate, text", [
    ("0.125000", "12.5 %"), ("1.000000", "100.0 %"), ("0.000000", "0.0 %"), ("-0.333333", "-33.3 %"),
    ("1.234567", "123.5 %"), ("0.001250", "0.1 %"), ("0.000500", "0.0 %"), ("0.000501", "0.1 %"), (None, "–"),
])
def test_format_percent_has_one_decimal_rounded_half_to_even(rate, text):
    assert format_percent(rate) == text


def test_format_ratio_has_two_decimals():
    assert [format_ratio(r) for r in ("1.500000", "0.000000", "12.000000", "1.005000", "1.015000", None)] == [
        "1.50", "0.00", "12.00", "1.00", "1.02", "–"]


def test_nice_steps_and_scale():
    assert [svg.nice_step(s) for s in (1, 5, 6, 17500, 14500, 1001)] == [1, 1, 2, 5000, 5000, 500]
    assert svg.Scale.covering([-2500, 12000]).ticks() == [-5000, 0, 5000, 10000, 15000]
    assert svg.Scale.covering([0, 0]).ticks() == [0, 1]
    scale = svg.Scale.covering([0, 100])
    assert scale.y(100) == svg.MARGIN_TOP
    assert scale.y(0) == svg.HEIGHT - svg.MARGIN_BOTTOM


def _rects(chart: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', m)) for m in re.findall(r"<rect ([^>]*)>", chart)]


def test_movement_bars_stack_gains_above_and_losses_below_zero():
    labels = ["2024-01", "2024-02"]
    series = {"new": [1000, 0], "expansion": [500, 0], "reactivation": [0, 0], "contraction": [0, -300], "churn": [0, -700]}
    chart = svg.movements_chart("Movements <USD>", labels, series, str)
    bars = [r for r in _rects(chart) if "data-kind" in r]
    assert [(b["data-kind"], b["class"]) for b in bars] == [
        ("new", "bar bar-new"), ("expansion", "bar bar-expansion"),
        ("contraction", "bar bar-contraction"), ("churn", "bar bar-churn"),
    ]
    scale = svg.Scale.covering([1500, 0, 0, -1000])
    zero = scale.y(0)
    new, expansion, contraction, churn = bars
    assert float(new["y"]) + float(new["height"]) == pytest.approx(zero, abs=0.1)          # sits on zero
    assert float(expansion["y"]) + float(expansion["height"]) == pytest.approx(float(new["y"]), abs=0.1)  # on top of new
    assert float(contraction["y"]) == pytest.approx(zero, abs=0.1)                          # hangs from zero
    assert float(churn["y"]) == pytest.approx(float(contraction["y"]) + float(contraction["height"]), abs=0.1)
    assert "<title>Movements &lt;USD&gt;</title>" in chart
    assert "<title>2024-02 churn: -700</title>" in chart


def test_line_chart_has_one_point_per_month_and_escapes_labels():
    chart = svg.line_chart("MRR", ["<m1>", "m2", "m3"], [0, 500, 250], lambda v: f"{v}¤")
    assert chart.count('<circle class="point"') == 3
    assert "<title>&lt;m1&gt;: 0¤</title>" in chart
    assert re.search(r'<path class="line" d="M [\d.]+,[\d.]+ L [\d.]+,[\d.]+ L [\d.]+,[\d.]+"', chart)
    assert svg.line_chart("MRR", [], [], str).count("No data") == 1


@given(amount=st.integers(min_value=-10**15, max_value=10**15), currency=st.sampled_from(["usd", "jpy", "kwd", "eur"]))
def test_money_text_reads_back_to_the_same_minor_units(amount, currency):
    text = format_minor(amount, currency, signed=True)
    assert int(Decimal(text.replace(",", "")).scaleb(currency_exponent(currency))) == amount


@given(values=st.lists(st.integers(min_value=-10**9, max_value=10**9), min_size=1, max_size=40))
def test_scale_covers_every_value_with_at_most_six_ticks(values):
    scale = svg.Scale.covering(values)
    assert scale.low <= min(values + [0]) and scale.high >= max(values + [0])
    assert 2 <= len(scale.ticks()) <= 6 and 0 in scale.ticks()
