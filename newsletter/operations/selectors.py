"""The dashboard's figures: the last 30 days, one aggregate query per subject grouped by day.

Days are calendar days in the current time zone (settings.TIME_ZONE), today last and partial. A
series is a list of numbers, one per day, oldest first; each query returns (day, kind, count) rows
that `Days.series` lays out, so a day without rows reads 0 and nothing runs once per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from newsletter.models import (
    DeliveryEvent,
    Digest,
    DigestStatus,
    PlanningRun,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from papers.models import FetchRun

DAYS = 30
RATE_WINDOW = dt.timedelta(days=7)
DIGEST_OUTCOMES = (
    DigestStatus.SENT,
    DigestStatus.FAILED,
    DigestStatus.SKIPPED,
    DigestStatus.CANCELLED,
    DigestStatus.EXPIRED,
)
# SendGrid's event names, and what the dashboard calls them.
EVENT_KINDS = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "spamreport": "complained",
}
LEFT_REASONS = {
    Suppression.Reason.BOUNCED: "bounced",
    Suppression.Reason.INVALID: "bounced",
    Suppression.Reason.COMPLAINED: "complained",
}
PerDay = dict[str, list[float]]  # {kind: [value per day]}


@dataclass(frozen=True)
class Days:
    """The last DAYS days, oldest first, and the instants they span: [start, end]."""

    dates: tuple[dt.date, ...]
    start: dt.datetime
    end: dt.datetime

    def series(self, rows: Iterable[tuple[dt.date, str, float | None]], kinds: Iterable[str]) -> PerDay:
        """{kind: [value per day]} from (day, kind, value) rows; a missing (day, kind) is 0."""
        index = {day: number for number, day in enumerate(self.dates)}
        laid_out: PerDay = {kind: [0] * len(self.dates) for kind in kinds}
        for day, kind, value in rows:
            if day in index and kind in laid_out:
                laid_out[kind][index[day]] += value or 0
        return laid_out


def days_ending(*, now: dt.datetime, count: int = DAYS) -> Days:
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    dates = tuple(today - dt.timedelta(days=back) for back in range(count - 1, -1, -1))
    start = dt.datetime.combine(dates[0], dt.time.min, tzinfo=zone)
    return Days(dates=dates, start=start, end=now)


def _by_day(queryset: QuerySet, field: str) -> QuerySet:
    """The rows of [start, end] on `field`, with their local `day`, ready for .values("day", …)."""
    day = TruncDate(field, tzinfo=timezone.get_current_timezone())
    return queryset.annotate(day=day).order_by()


# --- Digests ----------------------------------------------------------------------------------


def digest_outcomes(*, days: Days) -> PerDay:
    """Digests sent, failed, skipped, cancelled and expired per day.

    A digest enters each of these statuses once and never leaves it, and every move into one stamps
    `updated_at` (sending, the claim, the sweep), so `updated_at` is when it was sent, failed…: one
    range on the (status, updated_at) index serves all five.
    """
    digests = Digest.objects.filter(
        status__in=DIGEST_OUTCOMES, updated_at__gte=days.start, updated_at__lte=days.end
    )
    rows = _by_day(digests, "updated_at").values_list("day", "status").annotate(n=Count("id"))
    return days.series(rows, DIGEST_OUTCOMES)


# --- Delivery ---------------------------------------------------------------------------------


def _event_kind() -> Case:
    # A "blocked" bounce is the receiving server refusing for now, not a bad address: not a bounce here
    # (delivery/events.py does not suppress the address either).
    return Case(When(event="bounce", raw__type="blocked", then=Value("blocked")), default=F("event"))


def delivery_events(*, days: Days) -> PerDay:
    """Delivered, opened, clicked, bounced and complained events per day (SendGrid's Event Webhook)."""
    events = DeliveryEvent.objects.filter(
        event__in=list(EVENT_KINDS), timestamp__gte=days.start, timestamp__lte=days.end
    )
    rows = (
        _by_day(events, "timestamp")
        .annotate(kind=_event_kind())
        .values_list("day", "kind")
        .annotate(n=Count("id"))
    )
    by_event = days.series(rows, EVENT_KINDS)
    return {EVENT_KINDS[event]: values for event, values in by_event.items()}


@dataclass(frozen=True)
class DeliveryRates:
    delivered: int
    bounced: int
    complained: int

    @property
    def bounce_rate(self) -> float | None:
        return bounce_rate(delivered=self.delivered, bounced=self.bounced)

    @property
    def complaint_rate(self) -> float | None:
        return complaint_rate(delivered=self.delivered, complained=self.complained)


def bounce_rate(*, delivered: float, bounced: float) -> float | None:
    """Bounces of the messages that reached a server's verdict (delivered or bounced)."""
    attempted = delivered + bounced
    return bounced / attempted if attempted else None


def complaint_rate(*, delivered: float, complained: float) -> float | None:
    """Spam reports per delivered message, as mailbox providers count them."""
    return complained / delivered if delivered else None


def delivery_rates(*, now: dt.datetime, window: dt.timedelta = RATE_WINDOW) -> DeliveryRates:
    """The last `window` up to now (a rolling 7 days, not calendar days): what the banners judge."""
    events = DeliveryEvent.objects.filter(
        event__in=["delivered", "bounce", "spamreport"], timestamp__gte=now - window, timestamp__lte=now
    )
    hard_bounce = Q(event="bounce") & ~Q(kind="blocked")
    counts = events.annotate(kind=_event_kind()).aggregate(
        delivered=Count("id", filter=Q(event="delivered")),
        bounced=Count("id", filter=hard_bounce),
        complained=Count("id", filter=Q(event="spamreport")),
    )
    return DeliveryRates(**counts)


# --- Subscribers ------------------------------------------------------------------------------


def subscriber_changes(*, days: Days) -> PerDay:
    """Subscribers confirmed, unsubscribed, bounced and complained per day.

    Confirmations and unsubscriptions by their timestamps on the subscriber (a resubscription clears
    `unsubscribed_at`, so someone who came back no longer counts as gone). Bounces and complaints by
    the day their address went on the suppression list: one row per address, the day it happened.
    """
    confirmed = _count_by_day(Subscriber.objects.all(), "confirmed_at", days=days)
    unsubscribed = _count_by_day(Subscriber.objects.all(), "unsubscribed_at", days=days)
    suppressed = (
        _by_day(
            Suppression.objects.filter(
                reason__in=list(LEFT_REASONS), created_at__gte=days.start, created_at__lte=days.end
            ),
            "created_at",
        )
        .values_list("day", "reason")
        .annotate(n=Count("id"))
    )
    rows = [
        *((day, "confirmed", n) for day, n in confirmed),
        *((day, "unsubscribed", n) for day, n in unsubscribed),
        *((day, LEFT_REASONS[reason], n) for day, reason, n in suppressed),
    ]
    return days.series(rows, ("confirmed", "unsubscribed", "bounced", "complained"))


def _count_by_day(queryset: QuerySet, field: str, *, days: Days) -> QuerySet:
    """(day, count) rows of `queryset` by the day of `field`, within the days."""
    in_days = queryset.filter(**{f"{field}__gte": days.start, f"{field}__lte": days.end})
    return _by_day(in_days, field).values_list("day").annotate(n=Count("id"))


def active_subscribers() -> int:
    return Subscriber.objects.filter(status=SubscriberStatus.ACTIVE).count()


# --- Paper sources ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSummary:
    source: str
    configured: bool  # in settings.PAPER_SOURCES: expected to fetch every hour
    runs_ok: int
    runs_failed: int
    new_papers: int
    last_success: dt.datetime | None  # ever, not only in the 30 days
    last_error: str  # of its latest failed run in the 30 days, if the latest run failed
    new_by_day: list[float]


def source_summaries(*, days: Days) -> list[SourceSummary]:
    """Each configured source, then any other that ran in the 30 days: three queries."""
    runs = FetchRun.objects.filter(started_at__gte=days.start, started_at__lte=days.end)
    rows = list(
        _by_day(runs, "started_at")
        .values_list("day", "source", "status")
        .annotate(n=Count("id"), new=Sum("new_count"))
    )
    last_success = dict(
        FetchRun.objects.filter(status=FetchRun.Status.SUCCEEDED)
        .values_list("source")
        .annotate(last=Max("finished_at"))
        .order_by()
    )
    latest = _latest_outcomes(runs)
    sources = list(dict.fromkeys([*settings.PAPER_SOURCES, *sorted({source for _, source, *_ in rows})]))
    return [
        SourceSummary(
            source=source,
            configured=source in settings.PAPER_SOURCES,
            runs_ok=sum(
                n for _, s, status, n, _ in rows if s == source and status == FetchRun.Status.SUCCEEDED
            ),
            runs_failed=sum(
                n for _, s, status, n, _ in rows if s == source and status == FetchRun.Status.FAILED
            ),
            new_papers=sum(new or 0 for _, s, _, _, new in rows if s == source),
            last_success=last_success.get(source),
            last_error=latest.get(source, ""),
            new_by_day=days.series(((day, s, new) for day, s, _, _, new in rows if s == source), [source])[
                source
            ],
        )
        for source in sources
    ]


def _latest_outcomes(runs: QuerySet[FetchRun]) -> dict[str, str]:
    """{source: error} for the sources whose latest finished run failed (the newest rows suffice)."""
    finished = runs.exclude(status=FetchRun.Status.RUNNING).order_by("-started_at")
    latest: dict[str, str] = {}
    for source, status, error in finished.values_list("source", "status", "error")[:500]:
        latest.setdefault(source, error if status == FetchRun.Status.FAILED else "")
    return {source: error for source, error in latest.items() if error}


# --- Planning ---------------------------------------------------------------------------------


def planning_by_day(*, days: Days) -> PerDay:
    """Planning runs per day: how many, how many failed, subscribers due and digests planned, and the
    slowest run's seconds (the number to watch as subscribers grow)."""
    runs = PlanningRun.objects.filter(started_at__gte=days.start, started_at__lte=days.end)
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    per_day = (
        _by_day(runs, "started_at")
        .values("day")
        .annotate(
            runs=Count("id"),
            failed=Count("id", filter=Q(status=PlanningRun.Status.FAILED)),
            due=Sum("due"),
            planned=Sum("planned"),
            slowest=Max(took),
        )
    )
    rows = []
    for row in per_day:
        slowest = row.pop("slowest")
        day = row.pop("day")
        rows.extend((day, kind, value) for kind, value in row.items())
        rows.append((day, "seconds", slowest.total_seconds() if slowest is not None else 0))
    return days.series(rows, ("runs", "failed", "due", "planned", "seconds"))


def latest_planning_runs(*, limit: int = 12) -> list[PlanningRun]:
    return list(PlanningRun.objects.order_by("-started_at")[:limit])
