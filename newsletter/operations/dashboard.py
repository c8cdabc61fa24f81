"""The operator's dashboard page (`/admin/dashboard/`): banners, headline figures, and a chart of each
subject over the last 30 days with its numbers beside it (a table under each chart)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from newsletter.models import DigestStatus
from newsletter.operations import alerts, charts, selectors
from newsletter.operations.charts import Series
from newsletter.operations.selectors import Days


@dataclass(frozen=True)
class DayTable:
    """A chart's numbers: one row per day, newest first."""

    columns: list[str]
    rows: list[tuple[str, list[str]]]


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    chart: charts.Chart
    table: DayTable
    link: tuple[str, str] | None = None  # (text, url) of the admin list behind the figures
    extra: str = ""  # a template with more than a chart and its numbers (sources, planning runs)


def percent(rate: float | None) -> str:
    # Two decimals: complaint rates that matter to mailbox providers are around 0.1 %.
    return "n/a" if rate is None else f"{rate:.2%}"


def day_table(days: Days, series: list[Series], fmt: charts.Format = charts.count) -> DayTable:
    rows = [
        (charts.day_label(day), ["n/a" if s.values[i] is None else fmt(s.values[i]) for s in series])
        for i, day in reversed(list(enumerate(days.dates)))
    ]
    return DayTable(columns=[s.label for s in series], rows=rows)


def digests_section(days: Days, outcomes: selectors.PerDay) -> Section:
    series = [Series(status, status, outcomes[status]) for status in selectors.DIGEST_OUTCOMES]
    chart = charts.bar_chart(
        id="chart-digests",
        title="Digests per day",
        summary="Digests sent, failed, skipped, cancelled and expired per day, stacked.",
        dates=days.dates,
        up=series,
    )
    link = ("Digests", reverse("admin:newsletter_digest_changelist"))
    return Section("digests", "Digests", chart, day_table(days, series), link)


def delivery_sections(days: Days) -> list[Section]:
    events = selectors.delivery_events(days=days)
    delivered = events["delivered"]
    counts = [
        Series(kind, kind, events[kind])
        for kind in ("delivered", "opened", "clicked", "bounced", "complained")
    ]
    volume = charts.bar_chart(
        id="chart-delivery",
        title="Delivery events per day",
        summary="Messages delivered per day; the table beside it counts opens, clicks, bounces and spam reports too.",
        dates=days.dates,
        up=[counts[0]],
    )
    rates = _rates(days, events)
    bounce = charts.line_chart(
        id="chart-bounces",
        title="Bounce rate per day",
        summary="Bounced messages of those delivered or bounced, per day, against the 2% alert level.",
        dates=days.dates,
        series=[rates["bounce"]],
        rules=[(alerts.BOUNCE_LIMIT, "alert", f"alert {alerts.BOUNCE_LIMIT:.0%}")],
        notes=[_of(events["bounced"], [d + b for d, b in zip(delivered, events["bounced"], strict=True)])],
    )
    complaint = charts.line_chart(
        id="chart-complaints",
        title="Complaint rate per day",
        summary="Spam reports per delivered message, per day, against Gmail's 0.3% limit and the 0.1% alert level.",
        dates=days.dates,
        series=[rates["complaint"]],
        rules=[
            (alerts.GMAIL_COMPLAINT_LIMIT, "limit", f"Gmail's limit {alerts.GMAIL_COMPLAINT_LIMIT:.1%}"),
            (alerts.COMPLAINT_LIMIT, "alert", f"alert {alerts.COMPLAINT_LIMIT:.1%}"),
        ],
        notes=[_of(events["complained"], delivered)],
    )
    engagement = charts.line_chart(
        id="chart-engagement",
        title="Open and click rates per day",
        summary="Open and click events per delivered message, per day.",
        dates=days.dates,
        series=[rates["open"], rates["click"]],
    )
    link = ("Delivery events", reverse("admin:newsletter_deliveryevent_changelist"))
    rate_series = [rates[name] for name in ("open", "click", "bounce", "complaint")]
    return [
        Section("delivery", "Delivery", volume, day_table(days, counts), link),
        Section("bounces", "Bounces", bounce, day_table(days, [rates["bounce"]], charts.percent)),
        Section("complaints", "Complaints", complaint, day_table(days, [rates["complaint"]], charts.percent)),
        Section("engagement", "Opens and clicks", engagement, day_table(days, rate_series, charts.percent)),
    ]


def _rates(days: Days, events: selectors.PerDay) -> dict[str, Series]:
    delivered = events["delivered"]
    per_day = range(len(days.dates))
    return {
        "open": Series("opened", "open rate", [_ratio(events["opened"][i], delivered[i]) for i in per_day]),
        "click": Series(
            "clicked", "click rate", [_ratio(events["clicked"][i], delivered[i]) for i in per_day]
        ),
        "bounce": Series(
            "bounced",
            "bounce rate",
            [selectors.bounce_rate(delivered=delivered[i], bounced=events["bounced"][i]) for i in per_day],
        ),
        "complaint": Series(
            "complained",
            "complaint rate",
            [
                selectors.complaint_rate(delivered=delivered[i], complained=events["complained"][i])
                for i in per_day
            ],
        ),
    }


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _of(parts: list[float], wholes: list[float]) -> list[str]:
    return [f"{part:,.0f} of {whole:,.0f}" for part, whole in zip(parts, wholes, strict=True)]


def subscribers_section(days: Days) -> Section:
    changes = selectors.subscriber_changes(days=days)
    came = [Series("confirmed", "confirmed", changes["confirmed"])]
    left = [Series(kind, kind, changes[kind]) for kind in ("unsubscribed", "bounced", "complained")]
    chart = charts.bar_chart(
        id="chart-subscribers",
        title="Subscribers per day",
        summary="Subscribers confirmed per day above the line; unsubscribed, bounced and complained below it.",
        dates=days.dates,
        up=came,
        down=left,
    )
    link = ("Subscribers", reverse("admin:newsletter_subscriber_changelist"))
    return Section("subscribers", "Subscribers", chart, day_table(days, [*came, *left]), link)


def sources_section(days: Days, sources: list[selectors.SourceSummary]) -> Section:
    series = [Series(f"source-{number % 4}", s.source, s.new_by_day) for number, s in enumerate(sources)]
    chart = charts.bar_chart(
        id="chart-sources",
        title="New papers per day, by source",
        summary="Papers each source fetched for the first time, per day, stacked.",
        dates=days.dates,
        up=series,
    )
    link = ("Fetch runs", reverse("admin:papers_fetchrun_changelist"))
    return Section(
        "sources", "Paper sources", chart, day_table(days, series), link, "admin/operations/_sources.html"
    )


def planning_section(days: Days) -> Section:
    planning = selectors.planning_by_day(days=days)
    slowest = Series("seconds", "seconds, slowest run", planning["seconds"])
    chart = charts.bar_chart(
        id="chart-planning",
        title="Planning: the slowest run of each day",
        summary="Seconds the slowest planning run of each day took, from start to its last shard.",
        dates=days.dates,
        up=[slowest],
        fmt=charts.seconds,
    )
    columns = [
        Series("runs", "runs", planning["runs"]),
        Series("failed", "failed", planning["failed"]),
        Series("due", "due", planning["due"]),
        Series("planned", "planned", planning["planned"]),
    ]
    table = day_table(days, columns)
    seconds_column = day_table(days, [slowest], charts.seconds)
    merged = DayTable(
        columns=[*table.columns, *seconds_column.columns],
        rows=[
            (day, [*cells, *extra])
            for (day, cells), (_, extra) in zip(table.rows, seconds_column.rows, strict=True)
        ],
    )
    return Section("planning", "Planning", chart, merged, extra="admin/operations/_planning_runs.html")


def dashboard_context(*, now: dt.datetime) -> dict[str, Any]:
    days = selectors.days_ending(now=now)
    rates = selectors.delivery_rates(now=now)
    sources = selectors.source_summaries(days=days)
    outcomes = selectors.digest_outcomes(days=days)
    sections = [
        digests_section(days, outcomes),
        *delivery_sections(days),
        subscribers_section(days),
        sources_section(days, sources),
        planning_section(days),
    ]
    return {
        "banners": alerts.banners(now=now, sources=sources, rates=rates),
        "rates": rates,
        "bounce_percent": percent(rates.bounce_rate),
        "complaint_percent": percent(rates.complaint_rate),
        "active_subscribers": selectors.active_subscribers(),
        "sent_30d": sum(outcomes[DigestStatus.SENT]),
        "sent_today": outcomes[DigestStatus.SENT][-1],
        "sections": sections,
        "sources": sources,
        "planning_runs": selectors.latest_planning_runs(limit=8),
        "first_day": days.dates[0],
        "time_zone": timezone.get_current_timezone_name(),
    }


def dashboard_page(request: HttpRequest, *, site_context: dict) -> TemplateResponse:
    """The page; `site_context` is the admin site's own context (its header, its navigation)."""
    context = {**site_context, "title": "Operations dashboard", **dashboard_context(now=timezone.now())}
    return TemplateResponse(request, "admin/operations/dashboard.html", context)
