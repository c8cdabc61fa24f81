"""The dashboard's figures on known data: the right count on the right day, and nothing else counted."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from newsletter.models import DeliveryEvent, Digest, PlanningRun, Subscriber, Suppression
from newsletter.operations import selectors
from newsletter.operations.selectors import days_ending
from papers.models import FetchRun

UTC = dt.UTC
NOW = dt.datetime(2026, 5, 8, 15, 0, tzinfo=UTC)
TODAY, YESTERDAY, FIRST_DAY = dt.date(2026, 5, 8), dt.date(2026, 5, 7), dt.date(2026, 4, 9)
MIDNIGHT = dt.datetime(2026, 5, 8, 0, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def on(days: selectors.Days, series: list[float], day: dt.date) -> float:
    return series[days.dates.index(day)]


def nonzero(days: selectors.Days, series: list[float]) -> dict[dt.date, float]:
    return {day: value for day, value in zip(days.dates, series, strict=True) if value}


def subscriber(number: int, **fields) -> Subscriber:
    fields.setdefault("created_at", dt.datetime(2026, 1, 1, tzinfo=UTC))
    return Subscriber.objects.create(email=f"reader{number}@example.com", **fields)


def digest(owner: Subscriber, edition: str, status: str, when: dt.datetime) -> Digest:
    return Digest.objects.create(
        subscriber=owner,
        edition=edition,
        status=status,
        created_at=when - dt.timedelta(hours=1),
        sent_at=when if status == Digest.Status.SENT else None,
        updated_at=when,
    )


def event(kind: str, when: dt.datetime, **raw) -> DeliveryEvent:
    return DeliveryEvent.objects.create(
        sg_event_id=f"{kind}-{DeliveryEvent.objects.count()}",
        event=kind,
        email="reader@example.com",
        timestamp=when,
        raw={"event": kind, **raw},
    )


def test_the_window_is_thirty_days_ending_today():
    days = days_ending(now=NOW)
    assert (len(days.dates), days.dates[0], days.dates[-1]) == (30, FIRST_DAY, TODAY)
    assert days.start == dt.datetime(2026, 4, 9, tzinfo=UTC) and days.end == NOW


def test_digest_outcomes_land_on_the_day_they_happened():
    people = [subscriber(n) for n in range(8)]
    digest(people[0], "2026-05-08", "sent", NOW - dt.timedelta(hours=1))
    digest(people[1], "2026-05-08", "sent", MIDNIGHT)  # the first instant of today
    digest(people[2], "2026-05-07", "sent", MIDNIGHT - dt.timedelta(seconds=1))  # the last of yesterday
    digest(people[3], "2026-05-07", "failed", MIDNIGHT - dt.timedelta(hours=3))
    digest(people[4], "2026-04-09", "skipped", dt.datetime(2026, 4, 9, tzinfo=UTC))  # the first day
    digest(people[5], "2026-04-08", "sent", dt.datetime(2026, 4, 8, 23, 59, tzinfo=UTC))  # before it
    digest(people[6], "2026-05-08", "cancelled", NOW - dt.timedelta(minutes=5))
    digest(people[7], "2026-05-08", "expired", NOW - dt.timedelta(minutes=5))
    digest(people[0], "2026-05-09", "planned", NOW)  # not an outcome
    digest(people[1], "2026-05-09", "sending", NOW)
    days = days_ending(now=NOW)

    outcomes = selectors.digest_outcomes(days=days)

    assert {status: nonzero(days, values) for status, values in outcomes.items()} == {
        "sent": {TODAY: 2, YESTERDAY: 1},
        "failed": {YESTERDAY: 1},
        "skipped": {FIRST_DAY: 1},
        "cancelled": {TODAY: 1},
        "expired": {TODAY: 1},
    }


@override_settings(TIME_ZONE="Europe/Paris")
def test_days_are_local_days():
    people = [subscriber(n) for n in range(2)]
    # 22:30 UTC on 7 May is half past midnight on 8 May in Paris (UTC+2).
    digest(people[0], "2026-05-08", "sent", dt.datetime(2026, 5, 7, 22, 30, tzinfo=UTC))
    digest(people[1], "2026-05-07", "sent", dt.datetime(2026, 5, 7, 21, 30, tzinfo=UTC))
    days = days_ending(now=NOW)

    assert nonzero(days, selectors.digest_outcomes(days=days)["sent"]) == {TODAY: 1, YESTERDAY: 1}


def test_delivery_events_per_day_count_a_blocked_bounce_apart():
    for hours in (1, 2, 3):
        event("delivered", NOW - dt.timedelta(hours=hours))
    event("delivered", MIDNIGHT - dt.timedelta(seconds=1))
    event("open", NOW - dt.timedelta(hours=1))
    event("open", NOW - dt.timedelta(hours=2))
    event("click", NOW - dt.timedelta(hours=1))
    event("bounce", NOW - dt.timedelta(hours=1), type="bounce")
    event("bounce", NOW - dt.timedelta(hours=1))  # no type: a bounce
    event("bounce", NOW - dt.timedelta(hours=1), type="blocked")  # a refusal for now: not a bounce
    event("spamreport", MIDNIGHT - dt.timedelta(hours=2))
    event("processed", NOW - dt.timedelta(hours=1))  # not a kind the dashboard shows
    event("delivered", NOW + dt.timedelta(minutes=1))  # after now
    days = days_ending(now=NOW)

    events = selectors.delivery_events(days=days)

    assert {kind: nonzero(days, values) for kind, values in events.items()} == {
        "delivered": {TODAY: 3, YESTERDAY: 1},
        "opened": {TODAY: 2},
        "clicked": {TODAY: 1},
        "bounced": {TODAY: 2},
        "complained": {YESTERDAY: 1},
    }


def test_seven_day_rates_roll_over_the_last_seven_days():
    for i in range(18):
        event("delivered", NOW - dt.timedelta(hours=i))
    event("bounce", NOW - dt.timedelta(days=1), type="bounce")
    event("bounce", NOW - dt.timedelta(days=2))
    event("bounce", NOW - dt.timedelta(days=2), type="blocked")
    event("spamreport", NOW - dt.timedelta(days=3))
    event("delivered", NOW - dt.timedelta(days=7, seconds=1))  # just outside
    event("spamreport", NOW - dt.timedelta(days=9))

    rates = selectors.delivery_rates(now=NOW)

    assert (rates.delivered, rates.bounced, rates.complained) == (18, 2, 1)
    assert rates.bounce_rate == pytest.approx(2 / 20)
    assert rates.complaint_rate == pytest.approx(1 / 18)
    assert selectors.delivery_rates(now=NOW - dt.timedelta(days=30)).bounce_rate is None


def test_subscriber_changes_per_day_and_the_active_total():
    joined = dt.datetime(2026, 5, 1, tzinfo=UTC)
    subscriber(1, status="active", confirmed_at=NOW - dt.timedelta(hours=2))
    subscriber(2, status="active", confirmed_at=MIDNIGHT - dt.timedelta(seconds=1))
    subscriber(3, status="paused", confirmed_at=MIDNIGHT)  # confirmed today, paused since: still counted
    subscriber(4, status="unsubscribed", confirmed_at=joined, unsubscribed_at=NOW - dt.timedelta(hours=1))
    subscriber(5, status="active", confirmed_at=dt.datetime(2026, 4, 1, tzinfo=UTC))  # before the window
    subscriber(6, status="pending")
    for number, (reason, when) in enumerate(
        [
            (Suppression.Reason.BOUNCED, NOW - dt.timedelta(hours=1)),
            (Suppression.Reason.INVALID, MIDNIGHT - dt.timedelta(hours=1)),
            (Suppression.Reason.COMPLAINED, NOW - dt.timedelta(hours=1)),
            (Suppression.Reason.ERASED, NOW - dt.timedelta(hours=1)),  # left by choice, not a bounce
            (Suppression.Reason.UNSUBSCRIBED, NOW - dt.timedelta(hours=1)),  # counted by unsubscribed_at
        ]
    ):
        Suppression.objects.create(email_hash=f"{number:064d}", reason=reason, created_at=when)
    days = days_ending(now=NOW)

    changes = selectors.subscriber_changes(days=days)

    assert {kind: nonzero(days, values) for kind, values in changes.items()} == {
        "confirmed": {TODAY: 2, YESTERDAY: 1, dt.date(2026, 5, 1): 1},
        "unsubscribed": {TODAY: 1},
        "bounced": {TODAY: 1, YESTERDAY: 1},
        "complained": {TODAY: 1},
    }
    assert selectors.active_subscribers() == 3


def run(source: str, status: str, started: dt.datetime, new: int = 0, error: str = "") -> FetchRun:
    return FetchRun.objects.create(
        source=source,
        target="2026-05-08",
        status=status,
        started_at=started,
        finished_at=None if status == "running" else started + dt.timedelta(seconds=5),
        new_count=new,
        error=error,
    )


@override_settings(PAPER_SOURCES=["hf", "arxiv-rss"])
def test_sources_count_runs_and_new_papers_and_know_their_last_success():
    run("hf", "succeeded", NOW - dt.timedelta(hours=1), new=5)
    run("hf", "succeeded", MIDNIGHT - dt.timedelta(hours=1), new=7)
    run("hf", "failed", NOW - dt.timedelta(hours=3), error="HTTP 503 from https://huggingface.co/papers")
    run("arxiv-rss", "succeeded", dt.datetime(2026, 3, 1, tzinfo=UTC), new=40)  # long ago
    run("arxiv-rss", "failed", NOW - dt.timedelta(hours=2), error="timed out")
    run("arxiv-rss", "failed", NOW - dt.timedelta(hours=1), error="connection refused")
    run("arxiv-rss", "running", NOW)
    run("hf-api", "succeeded", NOW - dt.timedelta(days=2), new=1)  # no longer configured
    days = days_ending(now=NOW)

    hf, rss, api = selectors.source_summaries(days=days)

    assert (hf.source, hf.configured, hf.runs_ok, hf.runs_failed, hf.new_papers) == ("hf", True, 2, 1, 12)
    assert hf.last_success == NOW - dt.timedelta(hours=1) + dt.timedelta(seconds=5)
    assert hf.last_error == ""  # its latest run succeeded
    assert nonzero(days, hf.new_by_day) == {TODAY: 5, YESTERDAY: 7}
    assert (rss.runs_ok, rss.runs_failed, rss.new_papers) == (0, 2, 0)
    assert rss.last_success == dt.datetime(2026, 3, 1, 0, 0, 5, tzinfo=UTC)
    assert rss.last_error == "connection refused"
    assert (api.source, api.configured, api.runs_ok) == ("hf-api", False, 1)


def test_planning_runs_per_day():
    def planning(key: str, started: dt.datetime, seconds: float | None, **counts) -> None:
        PlanningRun.objects.create(
            key=key,
            moment=started,
            started_at=started,
            finished_at=None if seconds is None else started + dt.timedelta(seconds=seconds),
            **counts,
        )

    planning(
        "a", NOW - dt.timedelta(hours=2), 12.5, status="done", due=100, planned=90, shards=2, shards_done=2
    )
    planning(
        "b", NOW - dt.timedelta(hours=1), 40.0, status="done", due=50, planned=50, shards=1, shards_done=1
    )
    planning("c", MIDNIGHT - dt.timedelta(minutes=15), 3.0, status="failed", due=10, planned=0, shards=1)
    planning("d", NOW, None, status="running", due=5, shards=1)
    days = days_ending(now=NOW)

    per_day = selectors.planning_by_day(days=days)

    assert {kind: nonzero(days, values) for kind, values in per_day.items()} == {
        "runs": {TODAY: 3, YESTERDAY: 1},
        "failed": {YESTERDAY: 1},
        "due": {TODAY: 155, YESTERDAY: 10},
        "planned": {TODAY: 140},
        "seconds": {TODAY: 40.0, YESTERDAY: 3.0},
    }
    assert [r.key for r in selectors.latest_planning_runs(limit=2)] == ["d", "b"]


def test_every_figure_is_a_few_queries_whatever_the_days(django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        for number in range(30):
            digest(subscriber(number), "2026-05-08", "sent", NOW - dt.timedelta(days=number))
            event("delivered", NOW - dt.timedelta(days=number))
        from newsletter.operations.dashboard import dashboard_context

        with django_assert_max_num_queries(12):
            dashboard_context(now=NOW)
