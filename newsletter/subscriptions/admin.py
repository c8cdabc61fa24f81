"""Admin for subscribers and their interests: filters, counts, actions and the most common interests."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from newsletter import tasks
from newsletter.models import Interest, Subscriber
from newsletter.subscriptions import selectors, services
from newsletter.subscriptions.forms import interest_lines, parse_interest_lines
from newsletter.subscriptions.services import EmailKind

CSV_FIELDS = [
    "email", "status", "frequency", "weekday", "send_hour", "time_zone", "papers_per_digest", "also_trending",
    "created_at", "confirmed_at", "unsubscribed_at", "signup_ip", "confirmed_ip",
]  # fmt: skip


class InterestAdminForm(forms.ModelForm):
    class Meta:
        model = Interest
        fields = ["position", "text"]

    def clean_text(self) -> str:
        # The same parser as the signup form, so an operator cannot store an interest the matcher rejects.
        text = self.cleaned_data["text"]
        if len(interest_lines(text)) > 1:
            raise forms.ValidationError(
                "One interest per row: this text has several lines. Add a row for each line."
            )
        [line] = parse_interest_lines(text)
        self.instance.canonical = line.canonical
        for name, value in services.interest_details(texts=[line.text])[0].items():
            setattr(self.instance, name, value)
        return line.text


class InterestInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        # The database allows one row per canonical form; say which line repeats another
        # instead of failing on the unique constraint when saving.
        super().clean()
        seen: dict[str, str] = {}
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            canonical, text = form.instance.canonical, form.cleaned_data.get("text", "")
            if canonical in seen:
                form.add_error("text", f"“{text}” means the same as “{seen[canonical]}”; keep one of them.")
            else:
                seen[canonical] = text


class InterestInline(admin.TabularInline):
    model = Interest
    form = InterestAdminForm
    formset = InterestInlineFormSet
    fields = ["position", "text", "canonical"]
    readonly_fields = ["canonical"]
    extra = 0
    max_num = 20


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "frequency", "send_hour", "time_zone", "interest_count", "created_at"]
    list_filter = ["status", "frequency", "created_at"]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    inlines = [InterestInline]
    readonly_fields = [
        "key", "created_at", "confirmed_at", "unsubscribed_at", "signup_ip", "confirmed_ip", "token_version",
        "feed_version",
    ]  # fmt: skip
    actions = ["resend_confirmation", "pause", "unsubscribe", "export_csv"]
    change_list_template = "newsletter/admin/subscriber_change_list.html"
    list_per_page = 100

    class Media:
        css = {"all": ["css/subscribers-admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).prefetch_related("interests")

    @admin.display(description="Interests")
    def interest_count(self, subscriber: Subscriber) -> int:
        return len(subscriber.interests.all())

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "status_counts": selectors.subscriber_status_counts(),
            "top_interests": selectors.top_interests(limit=15),
        }
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Resend the confirmation email (pending only)")
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        pending = list(queryset.filter(status=Subscriber.Status.PENDING).values_list("pk", flat=True))
        for subscriber_id in pending:
            # For a pending subscriber, the link email is the confirmation.
            tasks.queue_subscription_email(kind=EmailKind.LINK, subscriber_id=subscriber_id)
        self.message_user(
            request,
            f"Confirmation queued for {len(pending)} pending subscriber(s); "
            "a failing email provider is retried and logged.",
            messages.SUCCESS,
        )

    @admin.action(description="Pause selected subscribers")
    def pause(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        paused = sum(services.subscriber_pause(subscriber=s) for s in queryset)
        self.message_user(request, f"Paused {paused} active subscriber(s).", messages.SUCCESS)

    @admin.action(description="Unsubscribe selected subscribers")
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        count = sum(services.subscriber_unsubscribe(subscriber=s) for s in queryset)
        self.message_user(request, f"Unsubscribed {count} subscriber(s).", messages.SUCCESS)

    @admin.action(description="Export selected as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="subscribers-{timezone.now():%Y%m%d-%H%M}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow([*CSV_FIELDS, "interests"])
        for subscriber in queryset.prefetch_related("interests").iterator(chunk_size=500):
            row = [_csv_safe(getattr(subscriber, name)) for name in CSV_FIELDS]
            interests = " | ".join(interest.text for interest in subscriber.interests.all())
            writer.writerow([*row, _csv_safe(interests)])
        return response


def _csv_safe(value) -> str:
    """Neutralize spreadsheet formulas: a cell starting with = + - @ runs as a formula in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
