"""ISO weeks and months as the period pages write them (pure date arithmetic)."""

from __future__ import annotations

import datetime as dt

import pytest

from papers.periods import BadPeriodError, month_of, parse_month, parse_week, week_of


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-W19", dt.date(2026, 5, 4), dt.date(2026, 5, 10)),
        ("2026-W01", dt.date(2025, 12, 29), dt.date(2026, 1, 4)),  # starts in the previous year
        ("2026-W53", dt.date(2026, 12, 28), dt.date(2027, 1, 3)),  # 2026 has 53 ISO weeks
        ("2021-W52", dt.date(2021, 12, 27), dt.date(2022, 1, 2)),
    ],
)
def test_a_week_is_its_monday_to_sunday(text, start, end):
    week = parse_week(text)

    assert (week.start, week.end) == (start, end)
    assert week.slug == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-W54", "2026 has ISO weeks W01 to W53"),
        ("2025-W53", "2025 has ISO weeks W01 to W52"),
        ("2026-W00", "2026 has ISO weeks W01 to W53"),
        ("2026-W5", "Write a week as YYYY-Www"),
        ("2026-19", "Write a week as YYYY-Www"),
        ("2026-W19\n", "Write a week as YYYY-Www"),
        ("\uff12\uff10\uff12\uff16-W19", "Write a week as YYYY-Www"),  # full-width digits
        ("garbage", "Write a week as YYYY-Www"),
        ("0001-W01", "years go from 1900 to 9998"),
        ("9999-W52", "years go from 1900 to 9998"),
    ],
)
def test_a_bad_week_says_how_to_write_one(text, message):
    with pytest.raises(BadPeriodError, match=message):
        parse_week(text)


def test_a_month_is_its_first_to_last_day():
    assert (parse_month("2026-02").start, parse_month("2026-02").end) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
    )
    assert parse_month("2028-02").end == dt.date(2028, 2, 29)
    assert parse_month("2026-12").slug == "2026-12"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "months go from 01 to 12"),
        ("2026-00", "months go from 01 to 12"),
        ("2026-5", "Write a month as YYYY-MM"),
        ("2026-W19", "Write a month as YYYY-MM"),
        ("<b>", "Write a month as YYYY-MM"),
    ],
)
def test_a_bad_month_says_how_to_write_one(text, message):
    with pytest.raises(BadPeriodError, match=message):
        parse_month(text)


def test_the_period_of_a_day():
    sunday = dt.date(2026, 5, 10)

    assert week_of(sunday).slug == "2026-W19"
    assert week_of(dt.date(2027, 1, 1)).slug == "2026-W53"
    assert month_of(sunday).slug == "2026-05"
    assert week_of(sunday).contains(dt.date(2026, 5, 4)) and not week_of(sunday).contains(
        dt.date(2026, 5, 11)
    )
