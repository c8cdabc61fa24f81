"""The operator dashboard (`/admin/dashboard/`): today's digests and the last week's delivery rates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from newsletter.models import DeliveryEvent, Digest, DigestStatus

RATE_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class DashboardFigures:
    sent_today: int
    failed_today: int
    skipped_today: int
    delivered_7d: int
    bounced_7d: int
    complained_7d: int

    @property
    def bounce_rate(self) -> float | None:
        attempted = self.delivered_7d + self.bounced_7d
        return self.bounced_7d / attempted if attempted else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complained_7d / self.delivered_7d if self.delivered_7d else None


def dashboard_figures(*, now: dt.datetime) -> DashboardFigures:
    """Two aggregate queries: today's digests by outcome, and the last 7 days of events."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    digests = Digest.objects.aggregate(
        sent=Count("id", filter=Q(status=DigestStatus.SENT, sent_at__gte=today)),
        failed=Count("id", filter=Q(status=DigestStatus.FAILED, updated_at__gte=today)),
        skipped=Count("id", filter=Q(status=DigestStatus.SKIPPED, updated_at__gte=today)),
    )
    # A "blocked" bounce is the receiving server refusing for now, not a bad address. Events
    # without a `type` key must count: NOT (NULL = 'blocked') alone would drop them.
    hard_bounce = Q(event="bounce") & (Q(raw__type__isnull=True) | ~Q(raw__type="blocked"))
    events = DeliveryEvent.objects.filter(timestamp__gte=now - RATE_WINDOW, timestamp__lte=now).aggregate(
        delivered=Count("id", filter=Q(event="delivered")),
        bounced=Count("id", filter=hard_bounce),
        complained=Count("id", filter=Q(event="spamreport")),
    )
    return DashboardFigures(
        sent_today=digests["sent"],
        failed_today=digests["failed"],
        skipped_today=digests["skipped"],
        delivered_7d=events["delivered"],
        bounced_7d=events["bounced"],
        complained_7d=events["complained"],
    )


def percent(rate: float | None) -> str:
    # Two decimals: complaint rates that matter to mailbox providers are around 0.1 %.
    return "n/a" if rate is None else f"{rate:.2%}"


def dashboard_page(request: HttpRequest, *, site_context: dict) -> TemplateResponse:
    """The page; `site_context` is the admin site's own context (its header, its navigation)."""
    figures = dashboard_figures(now=timezone.now())
    context = {
        **site_context,
        "title": "Delivery dashboard",
        "figures": figures,
        "bounce_percent": percent(figures.bounce_rate),
        "complaint_percent": percent(figures.complaint_rate),
        "events_url": reverse("admin:newsletter_deliveryevent_changelist"),
    }
    return TemplateResponse(request, "admin/paperbox_dashboard.html", context)
