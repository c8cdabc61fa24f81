from __future__ import annotations

from datetime import UTC, date, datetime

from newsletter.digests import editions


def moment(when: datetime, zone: str) -> editions.LocalMoment:
    return editions.local_moment(time_zone=zone, now=when)


def test_edition_key_names_the_day_for_daily_and_the_iso_week_for_weekly():
    assert editions.edition_key(frequency="daily", day=date(2026, 11, 21)) == "2026-11-21"
    assert editions.edition_key(frequency="weekly", day=date(2026, 11, 21)) == "2026-W47"
    # 1 January 2027 is a Friday of ISO week 53 of 2026, not week 1 of 2027.
    assert editions.edition_key(frequency="weekly", day=date(2027, 1, 1)) == "2026-W53"


def test_local_moment_uses_the_subscribers_time_zone():
    now = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    tokyo = moment(now, "Asia/Tokyo")
    assert (tokyo.day, tokyo.hour, tokyo.weekday) == (date(2026, 11, 22), 8, 6)
    los_angeles = moment(now, "America/Los_Angeles")
    assert (los_angeles.day, los_angeles.hour) == (date(2026, 11, 21), 15)


def test_daily_subscriber_is_due_once_the_local_send_hour_has_come():
    now = datetime(2026, 11, 21, 6, 15, tzinfo=UTC)  # 07:15 in Paris, 01:15 in New York
    assert (
        editions.current_edition(
            frequency="daily", weekday=0, send_hour=7, moment=moment(now, "Europe/Paris")
        )
        == "2026-11-21"
    )
    assert (
        editions.current_edition(
            frequency="daily", weekday=0, send_hour=7, moment=moment(now, "America/New_York")
        )
        is None
    )


def test_a_missed_planner_run_still_catches_up_later_the_same_day():
    later = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
    assert editions.is_due(frequency="daily", weekday=0, send_hour=7, moment=moment(later, "UTC"))


def test_weekly_subscriber_is_due_only_on_their_weekday():
    saturday = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert (
        editions.current_edition(frequency="weekly", weekday=5, send_hour=8, moment=moment(saturday, "UTC"))
        == "2026-W47"
    )
    assert (
        editions.current_edition(frequency="weekly", weekday=0, send_hour=8, moment=moment(saturday, "UTC"))
        is None
    )


def test_weekday_is_the_local_one_not_utcs():
    # Sunday 23:00 UTC is already Monday 08:00 in Tokyo.
    sunday_night = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert (
        editions.current_edition(
            frequency="weekly", weekday=0, send_hour=8, moment=moment(sunday_night, "Asia/Tokyo")
        )
        == "2026-W48"
    )


def test_send_hour_that_does_not_exist_on_spring_forward_day_still_sends():
    # 29 March 2026, Paris: 02:00 local never happens (01:59 CET -> 03:00 CEST).
    just_after_jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    local = moment(just_after_jump, "Europe/Paris")
    assert local.hour == 3
    assert editions.is_due(frequency="daily", weekday=0, send_hour=2, moment=local)
    before = moment(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "Europe/Paris")  # 01:59 CET
    assert not editions.is_due(frequency="daily", weekday=0, send_hour=2, moment=before)


def test_repeated_hour_on_fall_back_day_gives_one_edition():
    # 1 November 2026, New York: 01:00-01:59 happens twice; both map to the same edition.
    first = moment(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "America/New_York")
    second = moment(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "America/New_York")
    assert first.hour == second.hour == 1
    assert editions.edition_key(frequency="daily", day=first.day) == editions.edition_key(
        frequency="daily", day=second.day
    )


def test_unknown_time_zone_falls_back_to_utc(caplog):
    now = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
    assert moment(now, "Mars/Olympus_Mons").hour == 7
    assert "Mars/Olympus_Mons" in caplog.text


def test_force_ignores_hour_and_weekday():
    night = moment(datetime(2026, 11, 21, 1, 0, tzinfo=UTC), "UTC")
    assert editions.current_edition(frequency="weekly", weekday=2, send_hour=23, moment=night) is None
    assert (
        editions.current_edition(frequency="weekly", weekday=2, send_hour=23, moment=night, force=True)
        == "2026-W47"
    )


def test_moment_cache_computes_each_zone_once():
    cache = editions.MomentCache(datetime(2026, 11, 21, 7, 0, tzinfo=UTC))
    assert cache.get("Europe/Paris") is cache.get("Europe/Paris")
    assert cache.get("Europe/Paris").hour == 8
