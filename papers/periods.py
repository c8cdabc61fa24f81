"""Weeks and months of papers, as Hugging Face's period views spell them: 2026-W19 and 2026-05.

Weeks are ISO weeks (Monday to Sunday, week 1 holds the year's first Thursday), so a week can start
in one calendar year and end in the next: 2026-W01 starts on Monday 29 December 2025. Pure date
arithmetic, no database.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# Years whose neighbours are still dates: a period's previous and next ones must exist.
FIRST_YEAR, LAST_YEAR = 1900, 9998

Kind = Literal["week", "month"]


class BadPeriodError(ValueError):
    """A week or month string that names no period; the message says how to write one."""


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: dt.date
    end: dt.date  # inclusive: the last day of the period

    @property
    def slug(self) -> str:
        """The period as written in its URL: 2026-W19 or 2026-05."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def week_of(day: dt.date) -> Period:
    monday = day - dt.timedelta(days=day.weekday())
    return Period("week", monday, monday + dt.timedelta(days=6))


def month_of(day: dt.date) -> Period:
    last = calendar.monthrange(day.year, day.month)[1]
    return Period("month", day.replace(day=1), day.replace(day=last))


def period_of(kind: Kind, day: dt.date) -> Period:
    return week_of(day) if kind == "week" else month_of(day)


def parse_week(text: str) -> Period:
    """`2026-W19` -> that ISO week; BadPeriodError for anything else (`2026-W54`, `2026-19`, …)."""
    found = WEEK.fullmatch(text)
    if not found:
        raise BadPeriodError(
            f"“{text}” is not a week. Write a week as YYYY-Www, like 2026-W19 (an ISO week)."
        )
    year, week = int(found[1]), int(found[2])
    _check_year(text, year)
    weeks_in_year = dt.date(year, 12, 28).isocalendar().week  # 28 December is always in the last week
    if not 1 <= week <= weeks_in_year:
        raise BadPeriodError(f"“{text}” is not a week: {year} has ISO weeks W01 to W{weeks_in_year}.")
    return week_of(dt.date.fromisocalendar(year, week, 1))


def parse_month(text: str) -> Period:
    """`2026-05` -> May 2026; BadPeriodError for anything else (`2026-13`, `2026-5`, …)."""
    found = MONTH.fullmatch(text)
    if not found:
        raise BadPeriodError(f"“{text}” is not a month. Write a month as YYYY-MM, like 2026-05.")
    year, month = int(found[1]), int(found[2])
    _check_year(text, year)
    if not 1 <= month <= 12:
        raise BadPeriodError(f"“{text}” is not a month: months go from 01 to 12.")
    return month_of(dt.date(year, month, 1))


def _check_year(text: str, year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadPeriodError(f"“{text}” is out of range: years go from {FIRST_YEAR} to {LAST_YEAR}.")
