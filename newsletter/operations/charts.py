"""Charts as plain geometry, drawn as SVG by templates/admin/operations/_chart.html.

Nothing here knows about the database or HTML: series of numbers per day in, rectangles, polylines
and labels (in SVG user units) out. The page needs no script and no library, and the colours come
from a stylesheet (static/css/operations-admin.css), by each series' key, as the site's
Content-Security-Policy wants (no inline style).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 480, 180
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 22  # margins around the plot: labels live there
BAR_SHARE = 0.7  # of each day's slot; the rest is the gap between bars
X_LABEL_EVERY = 7  # days, counted back from today

Format = Callable[[float], str]


def count(value: float) -> str:
    # An axis tick may fall between whole numbers (half of 5): say so rather than round it away.
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def percent(value: float) -> str:
    return f"{value:.2%}"


def seconds(value: float) -> str:
    return f"{value:,.1f} s"


def day_label(day: dt.date) -> str:
    return f"{day.day} {day:%b}"


@dataclass(frozen=True)
class Series:
    key: str  # the stylesheet's class: chart-<key>
    label: str
    values: Sequence[float | None]  # one per day; None where there is nothing to say (a rate of 0/0)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    key: str
    title: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    key: str
    title: str


@dataclass(frozen=True)
class Polyline:
    points: str
    key: str


@dataclass(frozen=True)
class Rule:
    """A horizontal line at a threshold (Gmail's complaint limit), labelled at one end: the first
    rule at the right, the next at the left, so that labels of close thresholds do not overlap."""

    y: float
    key: str
    label: str
    label_x: float
    anchor: str  # SVG text-anchor: "end" or "start"

    @property
    def label_y(self) -> float:
        return round(self.y - 4, 1)  # just above the line


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    summary: str  # what the chart says, for screen readers (the SVG's <desc>)
    legend: list[Series]
    bars: list[Bar] = field(default_factory=list)
    polylines: list[Polyline] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    baseline: float = TOP + (HEIGHT - TOP - BOTTOM)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    y_label_x: int = LEFT - 6  # y-axis labels end here
    x_label_y: int = HEIGHT - 6


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above `value` (1 for nothing): round axis ends."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value * (1 - 1e-9))


class _Frame:
    """Where a day and a value land in the plot; values run from -low to high around the baseline."""

    def __init__(self, days: int, *, high: float, low: float = 0) -> None:
        self.slot = (WIDTH - LEFT - RIGHT) / days
        self.high, self.low = high, low
        self.pixels_per_unit = (HEIGHT - TOP - BOTTOM) / (high + low)
        self.baseline = TOP + high * self.pixels_per_unit

    def x(self, day: int) -> float:
        return LEFT + (day + 0.5) * self.slot

    def y(self, value: float) -> float:
        return self.baseline - value * self.pixels_per_unit

    def y_ticks(self, fmt: Format) -> list[Tick]:
        values = [self.high, self.high / 2, 0, *([-self.low] if self.low else [])]
        return [Tick(round(self.y(v), 1), fmt(abs(v))) for v in values]


def _x_ticks(frame: _Frame, dates: Sequence[dt.date]) -> list[Tick]:
    last = len(dates) - 1
    return [Tick(round(frame.x(i), 1), day_label(dates[i])) for i in range(last, -1, -X_LABEL_EVERY)]


def bar_chart(
    *,
    id: str,
    title: str,
    summary: str,
    dates: Sequence[dt.date],
    up: Sequence[Series],
    down: Sequence[Series] = (),
    fmt: Format = count,
) -> Chart:
    """Bars per day: `up` series stacked above the baseline, `down` series stacked below it (people
    who left, under people who came)."""
    high = nice_ceiling(max((_stack_height(up, i) for i in range(len(dates))), default=0))
    low = nice_ceiling(max((_stack_height(down, i) for i in range(len(dates))), default=0)) if down else 0
    frame = _Frame(len(dates), high=high, low=low)
    bars = [*_stacked(frame, dates, up, sign=1, fmt=fmt), *_stacked(frame, dates, down, sign=-1, fmt=fmt)]
    return Chart(
        id=id,
        title=title,
        summary=summary,
        legend=[*up, *down],
        bars=bars,
        x_ticks=_x_ticks(frame, dates),
        y_ticks=frame.y_ticks(fmt),
        baseline=round(frame.baseline, 1),
    )


def _stack_height(series: Sequence[Series], day: int) -> float:
    return sum(s.values[day] or 0 for s in series)


def _stacked(
    frame: _Frame, dates: Sequence[dt.date], series: Sequence[Series], *, sign: int, fmt: Format
) -> list[Bar]:
    width = frame.slot * BAR_SHARE
    bars = []
    for day, date in enumerate(dates):
        below = 0.0
        for s in series:
            value = s.values[day] or 0
            if not value:
                continue
            edge_a, edge_b = frame.y(sign * below), frame.y(sign * (below + value))
            below += value
            bars.append(
                Bar(
                    x=round(frame.x(day) - width / 2, 1),
                    y=round(min(edge_a, edge_b), 1),
                    width=round(width, 1),
                    height=round(abs(edge_b - edge_a), 1),
                    key=s.key,
                    title=f"{day_label(date)}: {fmt(value)} {s.label}",
                )
            )
    return bars


def line_chart(
    *,
    id: str,
    title: str,
    summary: str,
    dates: Sequence[dt.date],
    series: Sequence[Series],
    rules: Sequence[tuple[float, str, str]] = (),
    fmt: Format = percent,
    notes: Sequence[Sequence[str]] = (),
) -> Chart:
    """Lines per day, broken where a value is None, with threshold `rules` as (value, key, label).

    `notes[i][day]`, when given, ends that dot's tooltip (what the rate is of: "3 of 1,200").
    """
    values = [v for s in series for v in s.values if v is not None]
    high = nice_ceiling(max([*values, *(1.2 * value for value, _, _ in rules)], default=0))
    frame = _Frame(len(dates), high=high)
    polylines, dots = [], []
    for number, s in enumerate(series):
        run: list[str] = []
        for day, value in enumerate(s.values):
            if value is None:
                polylines.extend(_polyline(run, s.key))
                run = []
                continue
            x, y = round(frame.x(day), 1), round(frame.y(value), 1)
            run.append(f"{x},{y}")
            note = f" ({notes[number][day]})" if number < len(notes) else ""
            dots.append(Dot(x, y, s.key, f"{day_label(dates[day])}: {fmt(value)} {s.label}{note}"))
        polylines.extend(_polyline(run, s.key))
    return Chart(
        id=id,
        title=title,
        summary=summary,
        legend=list(series),
        polylines=polylines,
        dots=dots,
        rules=[_rule(frame.y(value), key, label, number) for number, (value, key, label) in enumerate(rules)],
        x_ticks=_x_ticks(frame, dates),
        y_ticks=frame.y_ticks(fmt),
        baseline=round(frame.baseline, 1),
    )


def _rule(y: float, key: str, label: str, number: int) -> Rule:
    if number % 2 == 0:
        return Rule(round(y, 1), key, label, label_x=WIDTH - RIGHT, anchor="end")
    return Rule(round(y, 1), key, label, label_x=LEFT + 4, anchor="start")


def _polyline(points: list[str], key: str) -> list[Polyline]:
    return [Polyline(" ".join(points), key)] if len(points) > 1 else []
