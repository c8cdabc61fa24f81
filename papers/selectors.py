"""Read queries for the papers pages.

A paper's *day* is the day Hugging Face featured it (`featured_on`), or, for a paper only seen on
arXiv (`featured_on` is null), the date of `published_at` in the site's time zone. Every query
below is written as two index-friendly halves instead of filtering on
`Coalesce(featured_on, TruncDate(published_at))`, which no plain index can serve:
featured papers use `paper_day_upvotes_idx`, arXiv-only papers the partial
`paper_unfeatured_published_idx`.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import F, Max, Min, Q, QuerySet
from django.utils import timezone

from papers.models import Paper

ARXIV_VERSION_SUFFIX = re.compile(r"v\d+$")


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


def paper_search(*, query: str) -> QuerySet[Paper]:
    """Papers whose title or abstract match `query`, best first; an arXiv id finds its paper.

    PostgreSQL gets real full-text search (stemmed, `websearch` syntax: quotes, `or`, `-word`);
    other databases get every word as a case-insensitive substring of the title or abstract.
    """
    query = query.strip()
    by_id = Q(arxiv_id=ARXIV_VERSION_SUFFIX.sub("", query))
    if connection.vendor == "postgresql":
        return _paper_search_postgres(query=query, by_id=by_id)
    return _paper_search_substring(query=query, by_id=by_id)


def _paper_search_postgres(*, query: str, by_id: Q) -> QuerySet[Paper]:
    vector = SearchVector("title", weight="A", config="english") + SearchVector(
        "abstract", weight="B", config="english"
    )
    search_query = SearchQuery(query, search_type="websearch", config="english")
    return (
        Paper.objects.annotate(document=vector, rank=SearchRank(vector, search_query))
        .filter(Q(document=search_query) | by_id)
        .order_by("-rank", "-upvotes", "arxiv_id")
    )


def _paper_search_substring(*, query: str, by_id: Q) -> QuerySet[Paper]:
    every_word = Q()
    for word in query.split():
        every_word &= Q(title__icontains=word) | Q(abstract__icontains=word)
    return Paper.objects.filter(every_word | by_id).order_by("-upvotes", "arxiv_id")


def paper_get(*, arxiv_id: str) -> Paper | None:
    return Paper.objects.filter(arxiv_id=arxiv_id).first()
