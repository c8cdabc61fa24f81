"""Admin for digests and their items: status filters, the error text, and a rendered preview.

Cancelled and expired digests are listed and filtered like the others; their last_error says why
they were not sent, and their items show as released (the papers may go in the next digest).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from newsletter.digests.rendering import DigestRenderer
from newsletter.digests.selectors import digest_views
from newsletter.digests.views import DIGEST_PAGE_CSP
from newsletter.digests.windows import window_ends_at
from newsletter.models import Digest, DigestItem


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    fields = ("rank", "paper", "score", "source", "matched_interests", "released")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Digest | None = None) -> bool:
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    """Digests are written by the planner and the sender; the admin reads them, it does not edit."""

    list_display = (
        "id",
        "subscriber",
        "edition",
        "status",
        "paper_count",
        "attempts",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "edition")
    search_fields = ("subscriber__email", "sendgrid_message_id", "edition")
    list_select_related = ("subscriber",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "subscriber", "edition", "status", "paper_count", "sendgrid_message_id", "attempts", "last_error",
        "created_at", "send_window_ends", "claimed_at", "sent_at", "updated_at", "delivered_at",
        "open_count", "click_count", "preview_link",
    )  # fmt: skip
    inlines = [DigestItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, digest: Digest) -> str:
        return Truncator(digest.last_error).chars(80)

    @admin.display(description="send window ends")
    def send_window_ends(self, digest: Digest) -> datetime:
        """After this a planned digest expires instead of being sent (the window setting as it is now)."""
        return window_ends_at(edition=digest.edition, created_at=digest.created_at)

    @admin.display(description="preview")
    def preview_link(self, digest: Digest) -> str:
        url = reverse("admin:newsletter_digest_preview", args=[digest.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">Show the email as sent</a>', url)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:digest_id>/preview/", preview, name="newsletter_digest_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, digest_id: int) -> HttpResponse:
        get_object_or_404(Digest, pk=digest_id)
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        rendered = DigestRenderer().render(digest_views(digest_ids=[digest_id])[0])
        response = HttpResponse(rendered.html)
        response["Content-Security-Policy"] = DIGEST_PAGE_CSP
        return response
