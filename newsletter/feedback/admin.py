"""Admin for ratings and taste models: operators read them; readers change them through their links."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from newsletter.feedback.models import Rating, TasteModel


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ("subscriber", "paper", "value", "updated_at")
    list_filter = ("value",)
    list_select_related = ("subscriber", "paper")
    search_fields = ("subscriber__email", "paper__arxiv_id", "paper__title")
    raw_id_fields = ("subscriber", "paper", "digest")
    date_hierarchy = "updated_at"


@admin.register(TasteModel)
class TasteModelAdmin(ReadOnlyAdmin):
    list_display = ("subscriber", "ratings_count", "model", "trained_at")
    list_select_related = ("subscriber",)
    search_fields = ("subscriber__email",)
    exclude = ("weights",)
    raw_id_fields = ("subscriber",)
