"""Trending papers of a week or a month (/papers/week/YYYY-Www/, /papers/month/YYYY-MM/), the
trending selector behind them, and the Day / Week / Month navigation."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from papers.models import Paper
from papers.selectors import papers_trending
from papers.services import papers_ingest
from papers.sources.hf_api import parse_daily_papers
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

MAY_4, MAY_8, MAY_10, MAY_11 = (dt.date(2026, 5, day) for day in (4, 8, 10, 11))
APR_20, JUN_1 = dt.date(2026, 4, 20), dt.date(2026, 6, 1)
_numbers = iter(range(1, 99_999))


def paper(title: str, *, featured_on: dt.date | None, upvotes: int = 0, **fields) -> Paper:
    return Paper.objects.create(
        arxiv_id=f"2605.{next(_numbers):05d}", title=title, featured_on=featured_on, upvotes=upvotes, **fields
    )


def titles_in_order(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'<h2 class="paper-title"[^>]*><a [^>]*>(.*?)</a>', html)]


# --- The selector -----------------------------------------------------------------------------


def test_trending_is_the_featured_papers_of_the_range_most_upvoted_first():
    paper("Before", featured_on=MAY_4 - dt.timedelta(days=1), upvotes=999)
    paper("Monday", featured_on=MAY_4, upvotes=5)
    paper("Sunday", featured_on=MAY_10, upvotes=50)
    paper("After", featured_on=MAY_11, upvotes=999)
    paper(
        "arXiv only, published that week",
        featured_on=None,
        published_at=dt.datetime(2026, 5, 6, tzinfo=dt.UTC),
    )

    trending = papers_trending(start=MAY_4, end=MAY_10)

    assert [p.title for p in trending] == ["Sunday", "Monday"]


def test_trending_breaks_ties_by_later_day_then_arxiv_id_and_honours_the_limit():
    Paper.objects.create(arxiv_id="2605.00002", title="B, Monday", featured_on=MAY_4, upvotes=7)
    Paper.objects.create(arxiv_id="2605.00001", title="A, Monday", featured_on=MAY_4, upvotes=7)
    Paper.objects.create(arxiv_id="2605.00009", title="Friday", featured_on=MAY_8, upvotes=7)

    assert [p.title for p in papers_trending(start=MAY_4, end=MAY_10)] == ["Friday", "A, Monday", "B, Monday"]
    assert [p.title for p in papers_trending(start=MAY_4, end=MAY_10, limit=2)] == ["Friday", "A, Monday"]


def test_trending_is_keyword_only():
    with pytest.raises(TypeError):
        papers_trending(MAY_4, MAY_10)  # type: ignore[misc]


# --- The pages --------------------------------------------------------------------------------


def test_week_page_lists_the_real_captured_day_most_upvoted_first(client):
    body = (FIXTURES / "hf" / "daily_papers_2026-05-08.json").read_bytes()
    papers_ingest(records=parse_daily_papers(body, url="fixture"), source="hf-api")

    response = client.get("/papers/week/2026-W19/")

    html = response.content.decode()
    assert response.status_code == 200
    expected = list(Paper.objects.order_by("-upvotes", "arxiv_id").values_list("title", flat=True))
    assert titles_in_order(html) == expected and len(expected) == 37
    assert "Week 19 of 2026" in html and "4 May \u2013 10 May 2026" in html
    assert "37 papers featured on Hugging Face, most upvoted first." in html


def test_month_page_spans_the_calendar_month(client):
    paper("April", featured_on=APR_20, upvotes=1)
    paper("May, low", featured_on=MAY_4, upvotes=1)
    paper("May, high", featured_on=MAY_11, upvotes=9)
    paper("June", featured_on=JUN_1, upvotes=99)

    html = client.get("/papers/month/2026-05/").content.decode()

    assert titles_in_order(html) == ["May, high", "May, low"]
    assert "May 2026" in html


def test_period_navigation_skips_empty_periods_both_ways(client):
    paper("April", featured_on=APR_20)
    paper("May", featured_on=MAY_8)
    paper("June", featured_on=JUN_1)

    week = client.get("/papers/week/2026-W19/").content.decode()
    first_week = client.get("/papers/week/2026-W17/").content.decode()
    month = client.get("/papers/month/2026-05/").content.decode()
    last_month = client.get("/papers/month/2026-06/").content.decode()

    assert 'rel="prev" href="/papers/week/2026-W17/"' in week
    assert 'rel="next" href="/papers/week/2026-W23/"' in week
    assert "← No earlier week" in first_week
    assert 'rel="prev" href="/papers/month/2026-04/"' in month
    assert 'rel="next" href="/papers/month/2026-06/"' in month
    assert "No later month →" in last_month


def test_day_week_and_month_link_to_each_other(client):
    paper("Friday", featured_on=MAY_8)

    day = client.get("/papers/?date=2026-05-08").content.decode()
    week = client.get("/papers/week/2026-W19/").content.decode()
    month = client.get("/papers/month/2026-05/").content.decode()

    tabs = re.compile(r'<nav class="papers-periods"[^>]*>(.*?)</nav>', re.S)
    for html, current in ((day, "Day"), (week, "Week"), (month, "Month")):
        links = dict(
            (text, href)
            for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(\w+)</a>', tabs.search(html)[1])
        )
        assert links == {
            "Day": "/papers/?date=2026-05-08",
            "Week": "/papers/week/2026-W19/",
            "Month": "/papers/month/2026-05/",
        }
        assert f'aria-current="page">{current}</a>' in html


def test_a_period_without_papers_says_so_and_links_its_neighbours(client):
    paper("April", featured_on=APR_20)

    html = client.get("/papers/week/2026-W19/").content.decode()

    assert "No papers were featured on Hugging Face in Week 19 of 2026." in html
    assert 'rel="prev" href="/papers/week/2026-W17/"' in html


def test_latest_week_and_month_redirect_to_the_last_featured_day(client):
    paper("Friday", featured_on=MAY_8)

    assert client.get("/papers/week/")["Location"] == "/papers/week/2026-W19/"
    assert client.get("/papers/month/")["Location"] == "/papers/month/2026-05/"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/papers/week/2026-W54/", "2026 has ISO weeks W01 to W53"),
        ("/papers/week/2026-13/", "Write a week as YYYY-Www, like 2026-W19"),
        ("/papers/week/garbage/", "Write a week as YYYY-Www"),
        ("/papers/week/%3Cscript%3E/", "Write a week as YYYY-Www"),
        ("/papers/month/2026-13/", "months go from 01 to 12"),
        ("/papers/month/2026-W19/", "Write a month as YYYY-MM, like 2026-05"),
        ("/papers/month/0000-01/", "years go from 1900 to 9998"),
    ],
)
def test_a_bad_period_is_a_helpful_404(client, url, message):
    response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 404
    assert "No such period" in html
    assert message in unescape(html)
    assert "<script>" not in html


def test_a_period_page_beyond_the_last_is_a_404(client):
    paper("Friday", featured_on=MAY_8)

    assert client.get("/papers/week/2026-W19/", {"page": "2"}).status_code == 404


def test_the_paper_page_links_its_week(client):
    p = paper("Friday", featured_on=MAY_8)

    html = client.get(f"/papers/{p.arxiv_id}/").content.decode()

    assert '<a href="/papers/week/2026-W19/">Trending that week</a>' in html
