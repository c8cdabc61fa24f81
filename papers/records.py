"""Papers as the matching engine sees them: the one builder of `newsletter.matching.PaperRecord`s.

(Not to be confused with `papers.sources.records`, what a source page parses into.) Digests, the
interest preview, the `match_papers` command and the search box all build their records here, so a
paper is matched the same way wherever it is matched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from newsletter.matching import PaperRecord
from papers.models import Paper, news_day

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
READ_CHUNK = 2000


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


def paper_record_from_paper(paper: Paper | Any) -> PaperRecord:
    """The record of a loaded Paper, or of any row with the RECORD_FIELDS as attributes (the digest
    planner's rows); a Paper must have those fields loaded."""
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
    return paper_records_of(papers=papers_since(since=since))


def paper_records_of(*, papers: QuerySet[Paper]) -> list[PaperRecord]:
    """The records of `papers`, in the queryset's order (the matcher breaks score ties by it)."""
    rows = papers.values(*RECORD_FIELDS).iterator(chunk_size=READ_CHUNK)
    return [paper_record_from_row(row) for row in rows]
