"""Papers as the matching engine reads them: PaperRecords built from database rows, in bulk."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from newsletter.matching import PaperRecord
from papers.models import Paper

RECORD_FIELDS = (
    "id",
    "title",
    "abstract",
    "authors",
    "ai_keywords",
    "upvotes",
    "featured_on",
    "published_at",
)


def news_day(*, featured_on: dt.date | None, published_at: dt.datetime | None) -> dt.date | None:
    """The day a paper was news, for recency: featured on Hugging Face, else published on arXiv.

    A paper featured today may have been on arXiv for weeks; readers count it as today's news.
    """
    return featured_on or (published_at.date() if published_at else None)


def paper_record_from_row(row: dict) -> PaperRecord:
    """A PaperRecord keyed by the paper's database id."""
    return PaperRecord(
        id=row["id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=row["authors"] or (),
        ai_keywords=row["ai_keywords"] or (),
        upvotes=row["upvotes"],
        published=news_day(featured_on=row["featured_on"], published_at=row["published_at"]),
    )


def paper_record_from_paper(paper: Paper) -> PaperRecord:
    """The PaperRecord of a loaded Paper (its matching fields, RECORD_FIELDS, must be loaded)."""
    return paper_record_from_row({name: getattr(paper, name) for name in RECORD_FIELDS})


def papers_since(*, since: dt.date | None) -> QuerySet[Paper]:
    """Papers featured or published on or after `since` (all papers when None)."""
    papers = Paper.objects.all()
    if since is not None:
        start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
        papers = papers.filter(Q(featured_on__gte=since) | Q(published_at__gte=start))
    return papers.order_by()


def paper_records_since(*, since: dt.date | None) -> list[PaperRecord]:
    """Every paper featured or published on or after `since` (all papers when None), in one query."""
    rows = papers_since(since=since).values(*RECORD_FIELDS).iterator(chunk_size=2000)
    return [paper_record_from_row(row) for row in rows]
