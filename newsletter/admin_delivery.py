"""Admin for SendGrid delivery events and the operator dashboard (`/admin/dashboard/`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import admin
from django.db.models import Count, Q
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from newsletter.models import DeliveryEvent, Digest, DigestStatus

RATE_WINDOW = dt.timedelta(days=7)


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(admin.ModelAdmin):
    """Read-only: events are SendGrid's record of what happened, not ours to edit."""

    list_display = ("event", "email", "timestamp", "short_reason", "digest_link")
    list_filter = ("event",)
    search_fields = ("email",)
    date_hierarchy = "timestamp"
    list_select_related = ("digest",)
    readonly_fields = [f.name for f in DeliveryEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="reason")
    def short_reason(self, obj: DeliveryEvent) -> str:
        return Truncator(obj.reason).chars(80)

    @admin.display(description="digest", ordering="digest")
    def digest_link(self, obj: DeliveryEvent) -> str:
        if obj.digest_id is None:
            return "-"
        try:
            url = reverse("admin:newsletter_digest_change", args=[obj.digest_id])
        except NoReverseMatch:  # the digest admin (another module) may not be registered
            return str(obj.digest)
        return format_html('<a href="{}">{}</a>', url, obj.digest)


# --- The dashboard ----------------------------------------------------------------------------


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


def dashboard_view(request: HttpRequest) -> TemplateResponse:
    figures = dashboard_figures(now=timezone.now())
    context = {
        **admin.site.each_context(request),
        "title": "Delivery dashboard",
        "figures": figures,
        "bounce_percent": percent(figures.bounce_rate),
        "complaint_percent": percent(figures.complaint_rate),
        "events_url": reverse("admin:newsletter_deliveryevent_changelist"),
    }
    return TemplateResponse(request, "admin/paperbox_dashboard.html", context)


def _urls_with_dashboard(get_urls):
    def get_urls_with_dashboard():
        # Before the admin's own patterns: its catch-all `<app_label>/` would take "dashboard/".
        dashboard = path("dashboard/", admin.site.admin_view(dashboard_view), name="paperbox_dashboard")
        return [dashboard, *get_urls()]

    return get_urls_with_dashboard


admin.site.get_urls = _urls_with_dashboard(admin.site.get_urls)
