"""Chart geometry: bars as tall as their values, lines broken where there is no value, limits drawn."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.operations import charts
from newsletter.operations.charts import BOTTOM, HEIGHT, TOP, Series, bar_chart, line_chart, nice_ceiling

DATES = [dt.date(2026, 5, 1) + dt.timedelta(days=n) for n in range(4)]
PLOT = HEIGHT - TOP - BOTTOM


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (7, 10), (10, 10), (11, 20), (0.0031, 0.005), (230, 250), (0.024, 0.025)]
)
def test_axes_end_on_round_numbers(value, ceiling):
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_stacked_bars_are_as_tall_as_their_values():
    chart = bar_chart(
        id="c",
        title="Digests",
        summary="",
        dates=DATES,
        up=[Series("sent", "sent", [10, 0, 5, 2]), Series("failed", "failed", [5, 0, 0, 3])],
    )
    # The axis ends at 20 (the tallest stack is 15): 10 sent fill half the plot.
    first_sent, first_failed = chart.bars[0], chart.bars[1]
    assert first_sent.height == pytest.approx(PLOT / 2, abs=0.1)
    assert first_sent.y + first_sent.height == pytest.approx(chart.baseline, abs=0.1)
    assert first_failed.y + first_failed.height == pytest.approx(first_sent.y, abs=0.1)  # stacked on top
    assert first_failed.title == "1 May: 5 failed"
    assert len(chart.bars) == 5  # a zero draws nothing
    assert [tick.label for tick in chart.y_ticks] == ["20", "10", "0"]
    assert [tick.label for tick in chart.x_ticks] == ["4 May"]  # today, then every 7th day back


def test_diverging_bars_put_people_who_left_below_the_line():
    chart = bar_chart(
        id="c",
        title="Subscribers",
        summary="",
        dates=DATES,
        up=[Series("confirmed", "confirmed", [4, 0, 0, 0])],
        down=[Series("unsubscribed", "unsubscribed", [0, 1, 0, 0])],
    )
    came, left = chart.bars
    assert came.y + came.height == pytest.approx(chart.baseline, abs=0.1)
    assert left.y == pytest.approx(chart.baseline, abs=0.1) and left.height > 0
    assert [tick.label for tick in chart.y_ticks] == ["5", "2.5", "0", "1"]


def test_lines_break_where_a_day_has_no_value_and_rules_sit_at_their_value():
    chart = line_chart(
        id="c",
        title="Complaint rate",
        summary="",
        dates=DATES,
        series=[Series("complained", "complaint rate", [0.001, 0.002, None, 0.004])],
        rules=[(0.003, "limit", "Gmail's limit 0.3%")],
        notes=[["1 of 1,000", "2 of 1,000", "0 of 0", "4 of 1,000"]],
    )
    # Days 1-2 make a line; day 4 stands alone (a dot, no line).
    assert len(chart.polylines) == 1 and len(chart.polylines[0].points.split(" ")) == 2
    assert len(chart.dots) == 3
    assert chart.dots[-1].title == "4 May: 0.40% complaint rate (4 of 1,000)"
    [rule] = chart.rules
    # The axis ends at 0.005 (above 0.004 and above 1.2 times the limit): the limit sits at 60% of it.
    assert rule.y == pytest.approx(chart.baseline - PLOT * 0.003 / 0.005, abs=0.1)
    assert rule.label == "Gmail's limit 0.3%"


def test_formats():
    assert (charts.count(1234), charts.percent(0.00312), charts.seconds(12.34)) == (
        "1,234",
        "0.31%",
        "12.3 s",
    )
