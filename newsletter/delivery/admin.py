"""Admin for SendGrid delivery events and the suppression list: read-only records of what happened."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from newsletter.models import DeliveryEvent, Suppression


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


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email_hash", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email_hash"]
    readonly_fields = ["email_hash", "reason", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
