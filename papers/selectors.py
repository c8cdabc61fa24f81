"""Read queries for the papers pages (the search box has its own module, papers.search).

A paper's *day* is the day Hugging Face featured it (`featured_on`), or, for a paper only seen on
arXiv (`featured_on` is null), the date of `published_at` in the site's time zone. Every query
below is written as two index-friendly halves instead of filtering on
`Coalesce(featured_on, TruncDate(published_at))`, which no plain index can serve:
featured papers use `paper_day_upvotes_idx`, arXiv-only papers the partial
`paper_unfeatured_published_idx`.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import BooleanField, F, Max, Min, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from papers.models import Paper


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _local_date(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment else None


def _later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return max(d for d in (a, b) if d) if (a or b) else None


def _earlier(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return min(d for d in (a, b) if d) if (a or b) else None


def _unfeatured() -> QuerySet[Paper]:
    return Paper.objects.filter(featured_on__isnull=True, published_at__isnull=False)


def paper_latest_day() -> dt.date | None:
    """The most recent day that has papers, or None when there are no papers at all."""
    featured = Paper.objects.aggregate(day=Max("featured_on"))["day"]
    unfeatured = _unfeatured().aggregate(moment=Max("published_at"))["moment"]
    return _later(featured, _local_date(unfeatured))


def paper_previous_day(*, day: dt.date) -> dt.date | None:
    """The nearest day before `day` that has papers."""
    featured = Paper.objects.filter(featured_on__lt=day).aggregate(day=Max("featured_on"))["day"]
    unfeatured = (
        _unfeatured().filter(published_at__lt=_day_start(day)).aggregate(moment=Max("published_at"))
    )["moment"]
    return _later(featured, _local_date(unfeatured))


def paper_next_day(*, day: dt.date) -> dt.date | None:
    """The nearest day after `day` that has papers."""
    following = day + dt.timedelta(days=1)
    featured = Paper.objects.filter(featured_on__gt=day).aggregate(day=Min("featured_on"))["day"]
    unfeatured = (
        _unfeatured().filter(published_at__gte=_day_start(following)).aggregate(moment=Min("published_at"))
    )["moment"]
    return _earlier(featured, _local_date(unfeatured))


def paper_list_for_day(*, day: dt.date) -> QuerySet[Paper]:
    """The papers of one day, most upvoted first."""
    start, end = _day_start(day), _day_start(day + dt.timedelta(days=1))
    arxiv_only = Q(featured_on__isnull=True, published_at__gte=start, published_at__lt=end)
    return Paper.objects.filter(Q(featured_on=day) | arxiv_only).order_by(
        "-upvotes", F("published_at").desc(nulls_last=True), "arxiv_id"
    )


def paper_get(*, arxiv_id: str) -> Paper | None:
    return Paper.objects.filter(arxiv_id=arxiv_id).first()


def papers_in_order(*, ids: list[int]) -> list[Paper]:
    """The papers with these ids, in the order given (ids of deleted papers are skipped)."""
    by_id = Paper.objects.in_bulk(ids)
    return [by_id[paper_id] for paper_id in ids if paper_id in by_id]


# --- Trending: weeks, months and feeds ---------------------------------------------------------


def papers_trending(*, start: dt.date, end: dt.date, limit: int | None = None) -> QuerySet[Paper]:
    """Papers featured on Hugging Face from `start` to `end` (both included), most upvoted first.

    Trending means featured, as on Hugging Face: a paper only seen on arXiv (no `featured_on`) has
    no upvotes to rank by and is in no period, even if it was published within it. Equal upvotes go
    to the later day, then to the arXiv id, so the order is total and the same on every call.
    """
    papers = Paper.objects.filter(featured_on__gte=start, featured_on__lte=end).order_by(
        "-upvotes", "-featured_on", "arxiv_id"
    )
    return papers[:limit] if limit is not None else papers


def paper_latest_featured_day(*, on_or_before: dt.date | None = None) -> dt.date | None:
    """The last day with featured papers (up to `on_or_before` when given)."""
    papers = Paper.objects.filter(featured_on__lte=on_or_before) if on_or_before else Paper.objects
    return papers.aggregate(day=Max("featured_on"))["day"]


def paper_featured_before(*, day: dt.date) -> dt.date | None:
    """The nearest day before `day` with featured papers."""
    return Paper.objects.filter(featured_on__lt=day).aggregate(day=Max("featured_on"))["day"]


def paper_featured_after(*, day: dt.date) -> dt.date | None:
    """The nearest day after `day` with featured papers."""
    return Paper.objects.filter(featured_on__gt=day).aggregate(day=Min("featured_on"))["day"]


def paper_recent_featured_days(*, count: int) -> list[dt.date]:
    """The `count` most recent days with featured papers, newest first."""
    days = Paper.objects.filter(featured_on__isnull=False).order_by("-featured_on")
    return list(days.values_list("featured_on", flat=True).distinct()[:count])


# --- Authors -----------------------------------------------------------------------------------


def json_list_contains(field_name: str, value: str) -> Q:
    """Rows whose JSON list `field_name` holds `value` exactly (case and accents included).

    PostgreSQL: jsonb containment, served by a GIN index where one exists (authors has one).
    SQLite has no containment operator: an EXISTS over json_each, which reads every row.
    """
    if connection.features.supports_json_field_contains:
        return Q(**{f"{field_name}__contains": [value]})
    column = connection.ops.quote_name(Paper._meta.get_field(field_name).column)
    table = connection.ops.quote_name(Paper._meta.db_table)
    exists = f"EXISTS (SELECT 1 FROM json_each({table}.{column}) AS item WHERE item.value = %s)"  # noqa: S608 (quoted names only)
    return Q(RawSQL(exists, [value], output_field=BooleanField()))  # noqa: S611 (value is a parameter)


def papers_by_author(*, name: str) -> QuerySet[Paper]:
    """The papers listing `name` among their authors (exactly as stored), newest first."""
    return Paper.objects.filter(json_list_contains("authors", name)).order_by(
        F("published_at").desc(nulls_last=True), F("featured_on").desc(nulls_last=True), "arxiv_id"
    )
