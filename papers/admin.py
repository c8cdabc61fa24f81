"""Admin for papers (editable, to fix a bad import) and fetch runs (read-only records)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db import models
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from papers.models import FetchRun, Paper
from papers.search_terms import paper_index_for_search
from papers.selectors import json_list_contains


class JSONListFilter(admin.SimpleListFilter):
    """Filter on "this JSON list contains the value", for Paper.sources and Paper.categories."""

    field_name = ""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(json_list_contains(self.field_name, value))


class SourceFilter(JSONListFilter):
    title = "source"
    parameter_name = "source"
    field_name = "sources"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(source, source) for source in sorted(settings.PAPER_SOURCE_CHOICES)]


class CategoryFilter(JSONListFilter):
    """The configured arXiv categories: listing every category ever seen would scan the table."""

    title = "arXiv category"
    parameter_name = "category"
    field_name = "categories"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(category, category) for category in settings.ARXIV_CATEGORIES]


class FeaturedFilter(admin.SimpleListFilter):
    title = "featured on Hugging Face"
    parameter_name = "featured"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No, arXiv only")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        if self.value() in {"yes", "no"}:
            return queryset.filter(featured_on__isnull=self.value() == "no")
        return queryset


class HasCodeFilter(admin.SimpleListFilter):
    title = "code"
    parameter_name = "has_code"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Has a GitHub repository"), ("no", "No repository")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        if self.value() == "yes":
            return queryset.exclude(github_repo="")
        if self.value() == "no":
            return queryset.filter(github_repo="")
        return queryset


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["arxiv_id", "short_title", "featured_on", "upvotes", "source_list", "published_at"]
    list_display_links = ["arxiv_id", "short_title"]
    search_fields = ["=arxiv_id", "title", "authors"]
    search_help_text = "An exact arXiv id, or words from the title or an author's name."
    list_filter = [FeaturedFilter, SourceFilter, CategoryFilter, HasCodeFilter]
    date_hierarchy = "featured_on"
    # Papers without a Hugging Face day (arXiv only) go last, not first as PostgreSQL's DESC puts NULLs.
    ordering = [F("featured_on").desc(nulls_last=True), "-upvotes", "arxiv_id"]
    sortable_by = ["arxiv_id", "short_title", "featured_on", "upvotes", "published_at"]
    show_full_result_count = False  # A COUNT(*) of the whole table on every page is wasted work.
    readonly_fields = ["first_seen_at", "updated_at"]
    # A link typed without a scheme is an https one (and Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["arxiv_id", "title", "authors", "abstract"]}),
        ("Days and popularity", {"fields": ["featured_on", "published_at", "upvotes", "comment_count"]}),
        ("Hugging Face extras", {"fields": ["ai_summary", "ai_keywords", "thumbnail"]}),
        ("Links", {"fields": ["github_repo", "github_stars", "project_page"]}),
        ("Provenance", {"fields": ["categories", "sources", "first_seen_at", "updated_at"]}),
    ]

    @admin.display(description="title", ordering="title")
    def short_title(self, paper: Paper) -> str:
        return paper.title if len(paper.title) <= 90 else f"{paper.title[:89]}…"

    @admin.display(description="sources")
    def source_list(self, paper: Paper) -> str:
        return ", ".join(str(source) for source in paper.sources)

    def view_on_site(self, paper: Paper) -> str:
        return reverse("papers:detail", kwargs={"arxiv_id": paper.arxiv_id})

    def save_model(self, request: HttpRequest, obj: Paper, form: Any, change: bool) -> None:
        # An edited title or author list must reach the search box's pre-filter (papers.search).
        paper_index_for_search(obj)
        super().save_model(request, obj, form, change)


@admin.register(FetchRun)
class FetchRunAdmin(admin.ModelAdmin):
    """Runs are records of what happened: they can be read and deleted, never added or edited."""

    list_display = [
        "started_at",
        "source",
        "target",
        "status",
        "finished_at",
        "duration",
        "fetched_count",
        "new_count",
        "updated_count",
        "unchanged_count",
    ]
    list_filter = ["status", "source"]
    search_fields = ["target", "url", "error"]
    date_hierarchy = "started_at"
    ordering = ["-started_at"]
    fields = [
        "source",
        "target",
        "url",
        "status",
        "started_at",
        "finished_at",
        "duration",
        "fetched_count",
        "new_count",
        "updated_count",
        "unchanged_count",
        "error_text",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["css/papers-admin.css"]}

    @admin.display(description="duration")
    def duration(self, run: FetchRun) -> str:
        if run.finished_at is None:
            return "—"
        return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"

    @admin.display(description="error")
    def error_text(self, run: FetchRun) -> str:
        if not run.error:
            return "—"
        # format_html escapes the text: errors quote pages and responses from outside.
        return format_html('<pre class="fetchrun-error">{}</pre>', run.error)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FetchRun | None = None) -> bool:
        return False
