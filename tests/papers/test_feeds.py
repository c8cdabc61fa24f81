"""Atom feeds, read back with feedparser (an independent parser): the daily trending papers and any
search in the interest language."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
import time_machine

from papers.models import Paper
from papers.search import paper_search
from papers.services import papers_ingest, papers_refresh_search_terms
from papers.sources.hf_api import parse_daily_papers
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 5, 8, 18, tzinfo=dt.UTC)


@pytest.fixture
def captured_day() -> None:
    """The real 37-paper Hugging Face day, ingested and indexed as a fetch does."""
    with time_machine.travel(NOW, tick=False):
        body = (FIXTURES / "hf" / "daily_papers_2026-05-08.json").read_bytes()
        papers_ingest(records=parse_daily_papers(body, url="fixture"), source="hf-api")
        papers_refresh_search_terms()


def parsed(response) -> feedparser.FeedParserDict:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def test_trending_feed_is_valid_atom_with_every_field(client, settings, captured_day):
    settings.SITE_URL = "https://papers.example.org"

    feed = parsed(client.get("/papers/feed/"))

    expected = list(Paper.objects.order_by("-upvotes", "arxiv_id"))
    assert feed.feed.title == "Paperbox: trending papers"
    assert feed.feed.link == "http://testserver/papers/"
    assert [entry.title for entry in feed.entries] == [paper.title for paper in expected]
    first, paper = feed.entries[0], expected[0]
    assert first.id == f"tag:papers.example.org,2026:paper/{paper.arxiv_id}"
    assert first.link == f"http://testserver/papers/{paper.arxiv_id}/"
    assert first.summary == paper.abstract
    assert first.author.startswith(paper.authors[0])
    assert first.updated_parsed[:3] == (2026, 5, 8)
    assert first.published_parsed[:3] == paper.published_at.timetuple()[:3]


def test_entry_ids_do_not_depend_on_the_address_the_feed_was_fetched_at(client, captured_day):
    one = parsed(client.get("/papers/feed/"))
    other = parsed(client.get("/papers/feed/", HTTP_HOST="127.0.0.1"))

    assert [e.id for e in one.entries] == [e.id for e in other.entries]
    assert len({e.id for e in one.entries}) == 37


def test_trending_feed_takes_the_last_three_featured_days(client):
    for number, day in enumerate((1, 4, 5, 8)):
        Paper.objects.create(
            arxiv_id=f"2605.0000{number}", title=f"May {day}", featured_on=dt.date(2026, 5, day), upvotes=day
        )
    Paper.objects.create(arxiv_id="2605.00009", title="arXiv only", published_at=NOW)

    feed = parsed(client.get("/papers/feed/"))

    assert [e.title for e in feed.entries] == ["May 8", "May 5", "May 4"]


def test_an_empty_site_has_a_valid_empty_feed(client):
    assert parsed(client.get("/papers/feed/")).entries == []


def test_a_search_feed_lists_what_the_search_finds_best_first(client, captured_day):
    line = '"language model" OR agent* -video'
    with time_machine.travel(NOW, tick=False):
        feed = parsed(client.get("/papers/feed/", {"q": line}))
        expected = paper_search(line=line, today=NOW.date()).matches

    by_id = Paper.objects.in_bulk([m.paper_id for m in expected])
    assert [e.title for e in feed.entries] == [by_id[m.paper_id].title for m in expected]
    assert 0 < len(feed.entries) < 37
    assert feed.feed.title == f"Paperbox: {line}"


def test_an_abstract_with_markup_stays_text_in_the_feed(client):
    Paper.objects.create(
        arxiv_id="2605.00001", title="<b>Bold</b> claims", abstract="<img src=x onerror=alert(1)> & more",
        featured_on=dt.date(2026, 5, 8),
    )  # fmt: skip

    entry = parsed(client.get("/papers/feed/")).entries[0]

    assert entry.title == "<b>Bold</b> claims"
    assert entry.summary == "&lt;img src=x onerror=alert(1)&gt; &amp; more"  # shown as text, not run


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('diffusion "language', 'Bad search “diffusion "language”: unclosed quote at character 11.'),
        ("-video", "no item that is not excluded at character 1."),
        ("(agents", "unclosed parenthesis at character 1."),
    ],
)
def test_a_bad_search_feed_is_a_400_in_plain_text(client, query, message):
    response = client.get("/papers/feed/", {"q": query})

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert message in response.content.decode()


def test_pages_announce_their_feeds(client, captured_day):
    day = client.get("/papers/").content.decode()
    week = client.get("/papers/week/2026-W19/").content.decode()
    found = client.get("/papers/", {"q": "agent OR agents"}).content.decode()

    for html in (day, week):
        assert (
            '<link rel="alternate" type="application/atom+xml" title="Paperbox: trending papers" href="/papers/feed/">'
            in html
        )
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Paperbox: agent OR agents" '
        'href="/papers/feed/?q=agent+OR+agents">' in found
    )


def test_an_overlong_search_feed_is_a_400(client):
    response = client.get("/papers/feed/", {"q": "word " * 200})

    assert response.status_code == 400
    assert "keep it under 500" in response.content.decode()
