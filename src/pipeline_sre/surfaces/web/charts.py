"""The dashboard's charts, laid out here and drawn by the templates as inline SVG: the console's CSP runs no
script but its own and no inline style, so there is no chart library and every colour is a CSS class.
Each chart carries a text summary (its accessible name) and its figures as rows, shown under it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pipeline_sre.app.operating_stats import duration_text

WIDTH = 560
LABEL_W = 170  # left column for the bar labels
VALUE_W = 110  # right column for the value as text
BAR_H = 20
GAP = 6
COLUMNS_H = 160
AXIS_H = 18


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    text: str  # the value as read
    x: float
    y: float
    width: float
    height: float
    tone: str  # a CSS class: the colour


@dataclass(frozen=True, slots=True)
class Chart:
    summary: str
    width: int
    height: int
    bars: list[Bar]
    axis: list[tuple[float, str]]  # (x, label) under the plot, for the daily chart
    rows: list[tuple[str, str]]  # the same figures as text


def hbars(summary: str, items: list[tuple[str, float, str]], *, scale: float | None = None, tone: str = "") -> Chart:
    """One horizontal bar per (label, value, text), longest for the largest (or for `scale`)."""
    top = scale or max((v for _, v, _ in items), default=0.0) or 1.0
    plot = WIDTH - LABEL_W - VALUE_W
    bars = [
        Bar(label, text, LABEL_W, i * (BAR_H + GAP), round(plot * max(0.0, value) / top, 1), BAR_H, tone or f"t{i % 6}")
        for i, (label, value, text) in enumerate(items)
    ]
    height = max(BAR_H, len(items) * (BAR_H + GAP) - GAP)
    return Chart(summary, WIDTH, height, bars, [], [(label, text) for label, _, text in items])


def daily_columns(summary: str, since: date, until: date, days: list[dict[str, Any]]) -> Chart:
    """A column per day of the window with a median (a gap for a day with none), tallest for the longest."""
    span = max(1, (until - since).days + 1)
    step = WIDTH / span
    column = round(max(1.0, step - 1), 1)  # a pixel apart
    top = max((d["median_s"] for d in days), default=0.0) or 1.0
    bars = []
    for d in days:
        x = round((date.fromisoformat(d["day"]) - since).days * step, 1)
        h = round(COLUMNS_H * d["median_s"] / top, 1)
        text = f"median {duration_text(d['median_s'])} over {d['resolved']} resolved"
        bars.append(Bar(d["day"], text, x, COLUMNS_H - h, column, h, "t0"))
    ticks = [since, since + timedelta(days=span // 2), until]
    axis = [(round(min(WIDTH - 40, (t - since).days * step), 1), t.isoformat()) for t in ticks]
    return Chart(summary, WIDTH, COLUMNS_H + AXIS_H, bars, axis, [(b.label, b.text) for b in bars])
