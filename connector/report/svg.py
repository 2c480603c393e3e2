"""Inline SVG charts built as text: no script, no font or stylesheet URL, nothing to load.

Values are integer minor units; only pixel positions are computed in floating
point (a position is not money). Every label goes through ``html.escape``.
Axis ticks are "nice" round amounts (1, 2 or 5 × a power of ten minor units)
so the gridlines fall on figures a reader can check against the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 1100, 340
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 100, 20, 36, 48
MAX_X_LABELS = 14
MAX_TICK_INTERVALS = 5
MAX_POINT_MARKERS = 72     # beyond this many months, dots only clutter the line

MOVEMENT_COLOURS = {
    "new": "#2e7d32",
    "expansion": "#7cb342",
    "reactivation": "#1e88e5",
    "contraction": "#fb8c00",
    "churn": "#e53935",
    "fx": "#8e24aa",
}
# fx is drawn on whichever side its sign puts it: last above the gains, last below the losses
ABOVE_ZERO = ("new", "expansion", "reactivation", "fx")
BELOW_ZERO = ("contraction", "churn", "fx")
SERIES_COLOURS = ("#00897b", "#f4511e", "#6d4c41", "#c0ca33", "#5e35b1", "#039be5", "#757575")
LINE_COLOUR = "#3949ab"

Formatter = Callable[[int], str]


def nice_step(span: int, ticks: int = MAX_TICK_INTERVALS) -> int:
    """The smallest 1/2/5 × 10^k step (in minor units, at least 1) giving at most ``ticks`` intervals."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * ticks >= span:
                return step * factor
        step *= 10


@dataclass(frozen=True)
class Scale:
    """Maps an amount in minor units to a y pixel inside the plot area."""

    low: int
    high: int
    step: int

    @classmethod
    def covering(cls, values: Sequence[int]) -> "Scale":
        low, high = min(0, *values), max(0, *values)
        if low == high:
            high = low + 1
        step = nice_step(high - low)
        while True:
            # floor and ceiling to whole steps (Python's // floors negatives too); rounding
            # both ends out can add an interval, then the next nice step is taken
            bottom, top = (low // step) * step, -(-high // step) * step
            if (top - bottom) // step <= MAX_TICK_INTERVALS:
                return cls(low=bottom, high=top, step=step)
            step = nice_step(step + 1, ticks=1)

    def y(self, value: int) -> float:
        plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
        return MARGIN_TOP + plot_height * (self.high - value) / (self.high - self.low)

    def ticks(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))


def _x_band(count: int) -> float:
    return (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / max(count, 1)


def _x_center(index: int, count: int) -> float:
    return MARGIN_LEFT + _x_band(count) * (index + 0.5)


def _px(value: float) -> str:
    return f"{value:.1f}"


def _frame(title: str, css_class: str, body: list[str]) -> str:
    return (
        f'<svg class="chart {css_class}" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _axes(scale: Scale, labels: Sequence[str], fmt: Formatter) -> list[str]:
    parts = []
    for tick in scale.ticks():
        y = _px(scale.y(tick))
        weight = ' stroke="#555"' if tick == 0 else ' stroke="#e3e3e3"'
        parts.append(f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y}" y2="{y}"{weight}/>')
        parts.append(
            f'<text class="tick" x="{MARGIN_LEFT - 8}" y="{y}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(fmt(tick))}</text>"
        )
    every = max(1, -(-len(labels) // MAX_X_LABELS))
    for index, label in enumerate(labels):
        if index % every == 0:
            parts.append(
                f'<text class="xlabel" x="{_px(_x_center(index, len(labels)))}" y="{HEIGHT - MARGIN_BOTTOM + 20}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    return parts


def line_chart(title: str, labels: Sequence[str], values: Sequence[int], fmt: Formatter) -> str:
    """One series over time (the MRR line), with a dot and a tooltip per point when few enough."""
    if not values:
        return _frame(title, "line-chart empty", ['<text x="50%" y="50%" text-anchor="middle">No data</text>'])
    scale = Scale.covering(values)
    points = [(_x_center(i, len(values)), scale.y(v)) for i, v in enumerate(values)]
    path = "M " + " L ".join(f"{_px(x)},{_px(y)}" for x, y in points)
    baseline = _px(scale.y(0))
    area = f"{path} L {_px(points[-1][0])},{baseline} L {_px(points[0][0])},{baseline} Z"
    body = _axes(scale, labels, fmt)
    body.append(f'<path class="area" d="{area}" fill="{LINE_COLOUR}" fill-opacity="0.10" stroke="none"/>')
    body.append(f'<path class="line" d="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2.5"/>')
    if len(values) <= MAX_POINT_MARKERS:
        for (x, y), label, value in zip(points, labels, values):
            body.append(
                f'<circle class="point" cx="{_px(x)}" cy="{_px(y)}" r="3.5" fill="{LINE_COLOUR}">'
                f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
            )
    return _frame(title, "line-chart", body)


def movements_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]], fmt: Formatter) -> str:
    """Stacked bars per month: gains (new, expansion, reactivation) above zero, losses below.

    ``series`` maps a movement kind to one signed amount per label (losses are
    negative, as the engine stores them).
    """
    count = len(labels)
    if not count:
        return _frame(title, "movements-chart empty", ['<text x="50%" y="50%" text-anchor="middle">No data</text>'])
    ups = [sum(max(series.get(kind, [0] * count)[i], 0) for kind in ABOVE_ZERO) for i in range(count)]
    downs = [sum(min(series.get(kind, [0] * count)[i], 0) for kind in BELOW_ZERO) for i in range(count)]
    scale = Scale.covering([*ups, *downs])
    band = _x_band(count)
    bar_width = max(band * 0.7, 1.0)
    body = _axes(scale, labels, fmt)
    for index, label in enumerate(labels):
        left = MARGIN_LEFT + band * index + (band - bar_width) / 2
        for kinds, sign in ((ABOVE_ZERO, 1), (BELOW_ZERO, -1)):
            level = 0
            for kind in kinds:
                amount = series.get(kind, [0] * count)[index]
                if amount * sign <= 0:
                    continue
                top, bottom = (level + amount, level) if sign > 0 else (level, level + amount)
                y_top, y_bottom = scale.y(top), scale.y(bottom)
                body.append(
                    f'<rect class="bar bar-{kind}" data-kind="{kind}" x="{_px(left)}" y="{_px(y_top)}" '
                    f'width="{_px(bar_width)}" height="{_px(max(y_bottom - y_top, 0.5))}" '
                    f'fill="{MOVEMENT_COLOURS[kind]}"><title>{escape(label)} {kind}: '
                    f"{escape(fmt(amount))}</title></rect>"
                )
                level += amount
    kinds = [k for k in dict.fromkeys((*ABOVE_ZERO, *BELOW_ZERO)) if k != "fx" or "fx" in series]
    body.extend(_legend([(kind, MOVEMENT_COLOURS[kind]) for kind in kinds]))
    return _frame(title, "movements-chart", body)


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    parts, x = [], MARGIN_LEFT
    for label, colour in entries:
        parts.append(f'<rect class="legend-swatch" x="{x}" y="10" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text class="legend" x="{x + 17}" y="20">{escape(label)}</text>')
        x += 30 + 8 * len(label)
    return parts


def multi_line_chart(title: str, labels: Sequence[str], total: tuple[str, Sequence[int]],
                     parts: Mapping[str, Sequence[int]], fmt: Formatter) -> str:
    """A bold total line and a thin line per part (the converted MRR and each currency's share of it)."""
    if not labels:
        return _frame(title, "multi-line-chart empty", ['<text x="50%" y="50%" text-anchor="middle">No data</text>'])
    scale = Scale.covering([*total[1], *(v for values in parts.values() for v in values)])
    body = _axes(scale, labels, fmt)
    entries = [(total[0], LINE_COLOUR)]
    for index, (name, values) in enumerate(parts.items()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        entries.append((name, colour))
        body.append(_polyline(scale, values, colour, 1.5, f"line part {name}"))
    body.append(_polyline(scale, total[1], LINE_COLOUR, 3, "line total"))
    body.extend(_legend(entries))
    return _frame(title, "multi-line-chart", body)


def _polyline(scale: Scale, values: Sequence[int], colour: str, width: float, css_class: str) -> str:
    points = " L ".join(f"{_px(_x_center(i, len(values)))},{_px(scale.y(v))}" for i, v in enumerate(values))
    return f'<path class="{escape(css_class)}" d="M {points}" fill="none" stroke="{colour}" stroke-width="{width}"/>'


BAR_ROW = 26


def bar_chart(title: str, items: Sequence[tuple[str, int]], fmt: Formatter) -> str:
    """Horizontal bars, largest first (MRR by plan); each bar's label and amount written beside it."""
    if not items:
        return _frame(title, "bar-chart empty", ['<text x="50%" y="50%" text-anchor="middle">No data</text>'])
    height, label_width = 20 + BAR_ROW * len(items), 360
    largest_value = max(max(v for _, v in items), 1)
    body = []
    for index, (label, value) in enumerate(items):
        y = 10 + index * BAR_ROW
        width = (WIDTH - label_width - 140) * max(value, 0) / largest_value
        body.append(f'<text x="{label_width - 8}" y="{y + 14}" text-anchor="end">{escape(label[:48])}</text>')
        body.append(f'<rect class="bar bar-plan" x="{label_width}" y="{y}" width="{_px(max(width, 0.5))}" height="18" '
                    f'fill="{LINE_COLOUR}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        body.append(f'<text x="{_px(label_width + width + 6)}" y="{y + 14}">{escape(fmt(value))}</text>')
    return (f'<svg class="chart bar-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>{"".join(body)}</svg>')
