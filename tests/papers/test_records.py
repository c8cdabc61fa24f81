"""The matcher's paper records, built in one place (papers.records), and the day a paper was news."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.matching import PaperRecord
from papers.models import Paper, news_day
from papers.records import RECORD_FIELDS, paper_record_from_row, paper_records_of, paper_records_since

MAY_1, MAY_8 = dt.date(2026, 5, 1), dt.date(2026, 5, 8)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def test_news_day_is_the_featured_day_first():
    assert news_day(featured_on=MAY_8, published_at=at(MAY_1, 12)) == MAY_8


def test_news_day_of_an_arxiv_only_paper_is_its_utc_publication_day():
    late_evening_utc = dt.datetime(2026, 5, 1, 23, 30, tzinfo=dt.UTC)

    assert news_day(featured_on=None, published_at=late_evening_utc) == MAY_1
    assert news_day(featured_on=None, published_at=None) is None


def test_news_day_is_keyword_only():
    with pytest.raises(TypeError):
        news_day(MAY_8, None)  # type: ignore[misc]


def test_a_paper_knows_its_news_day():
    assert Paper(featured_on=None, published_at=at(MAY_1, 3)).news_day == MAY_1


def test_record_from_row_fills_every_field_the_matcher_reads():
    row = {
        "id": 7,
        "title": "T",
        "abstract": "A",
        "authors": None,
        "ai_keywords": ["k"],
        "upvotes": 3,
        "featured_on": None,
        "published_at": at(MAY_1, 9),
    }

    record = paper_record_from_row(row)

    assert record == PaperRecord(
        id=7, title="T", abstract="A", authors=(), ai_keywords=["k"], upvotes=3, published=MAY_1
    )
    assert set(row) == set(RECORD_FIELDS)


@pytest.mark.django_db
def test_records_since_take_papers_featured_or_published_on_or_after_the_day():
    old = Paper.objects.create(arxiv_id="2604.00001", title="Old", published_at=at(MAY_1, 8))
    featured_late = Paper.objects.create(
        arxiv_id="2604.00002", title="Featured late", published_at=at(MAY_1, 8), featured_on=MAY_8
    )
    new = Paper.objects.create(arxiv_id="2605.00003", title="New", published_at=at(MAY_8, 0))

    since_may_8 = {record.id for record in paper_records_since(since=MAY_8)}
    everything = {record.id for record in paper_records_since(since=None)}

    assert since_may_8 == {featured_late.id, new.id}
    assert everything == {old.id, featured_late.id, new.id}


@pytest.mark.django_db
def test_records_of_a_queryset_keep_its_order():
    first = Paper.objects.create(arxiv_id="2605.00001", title="First", upvotes=1)
    second = Paper.objects.create(arxiv_id="2605.00002", title="Second", upvotes=9)

    records = paper_records_of(papers=Paper.objects.order_by("-upvotes"))

    assert [record.id for record in records] == [second.id, first.id]
