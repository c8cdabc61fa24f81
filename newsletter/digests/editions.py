"""Edition keys and the "who is due" rule, in each subscriber's own time zone.

An edition names one digest of one subscriber: the local day ("2026-11-21") for daily digests and
the local ISO week ("2026-W47") for weekly ones. A subscriber is due once their local send hour has
come on a day they receive mail (every day, or their weekday); the planner runs every 15 minutes,
so "has come" (hour >= send_hour) rather than "is now" lets a missed run catch up later that day,
and the (subscriber, edition) unique constraint makes the catch-up send nothing twice.

Pure functions over plain values: no ORM, so the planner can call them for a million rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)

DAILY = "daily"
WEEKLY = "weekly"
# In every weekly edition key ("2026-W47") and in no daily one ("2026-11-21").
WEEK_MARK = "-W"
# How far back a first digest looks for papers (and the most a later one ever looks back, so a
# subscriber back from a pause gets a digest, not a month of backlog).
FIRST_DIGEST_LOOKBACK = {DAILY: timedelta(days=2), WEEKLY: timedelta(days=8)}


@dataclass(frozen=True, slots=True)
class LocalMoment:
    """What a wall clock in one time zone shows at one instant."""

    day: date
    hour: int
    weekday: int  # Monday is 0, as in Subscriber.Weekday


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # The form validates time zones; an unknown one here comes from an older tzdata or a bad
        # import. Sending at UTC is better than never sending.
        logger.warning("Unknown time zone %r: using UTC for this subscriber's send hour", name)
        return ZoneInfo("UTC")


def local_moment(*, time_zone: str, now: datetime) -> LocalMoment:
    local = now.astimezone(_zone(time_zone))
    return LocalMoment(day=local.date(), hour=local.hour, weekday=local.weekday())


def edition_key(*, frequency: str, day: date) -> str:
    if frequency == WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}{WEEK_MARK}{week:02d}"
    return day.isoformat()


def edition_frequency(edition: str) -> str:
    return WEEKLY if WEEK_MARK in edition else DAILY


def is_due(*, frequency: str, weekday: int, send_hour: int, moment: LocalMoment) -> bool:
    """True once the local send hour has come on a day this subscriber receives a digest.

    On a spring-forward day a send hour that does not exist (02:00 in Europe/Paris) is simply
    passed: the clock shows 03:00 >= 2, so the digest still goes out that day.
    """
    if frequency == WEEKLY and moment.weekday != weekday:
        return False
    return moment.hour >= send_hour


class MomentCache:
    """Local moments per time zone for one planning instant: 1,000,000 subscribers share ~400 zones."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._moments: dict[str, LocalMoment] = {}

    def get(self, time_zone: str) -> LocalMoment:
        moment = self._moments.get(time_zone)
        if moment is None:
            moment = self._moments[time_zone] = local_moment(time_zone=time_zone, now=self.now)
        return moment


def current_edition(
    *, frequency: str, weekday: int, send_hour: int, moment: LocalMoment, force: bool = False
) -> str | None:
    """The edition this subscriber is due for now, or None when not due (force ignores the hour)."""
    if not force and not is_due(frequency=frequency, weekday=weekday, send_hour=send_hour, moment=moment):
        return None
    return edition_key(frequency=frequency, day=moment.day)
