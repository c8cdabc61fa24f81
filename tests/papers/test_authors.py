"""Author pages (/papers/authors/<name>/) and the author links on cards and paper pages."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import unquote

import pytest
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from papers.models import Paper
from papers.selectors import json_list_contains, papers_by_author

pytestmark = pytest.mark.django_db

NAMES = ["Ada Lovelace", "Zoë Müller-Ström", "王小明", "Lars Ek/Team Ω", "O'Brien, J. #1 ?x=1 %20"]
_numbers = iter(range(1, 99_999))


def paper(title: str, authors: list[str], *, day: int = 8, **fields) -> Paper:
    return Paper.objects.create(
        arxiv_id=f"2605.{next(_numbers):05d}",
        title=title,
        authors=authors,
        published_at=dt.datetime(2026, 5, day, 12, tzinfo=dt.UTC),
        **fields,
    )


def titles_in_order(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'<h2 class="paper-title"[^>]*><a [^>]*>(.*?)</a>', html)]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_links_to_its_page_and_back(client, name):
    mine = paper("Mine", [name, "Someone Else"], featured_on=dt.date(2026, 5, 8))
    paper("Not mine", ["Someone Else"], featured_on=dt.date(2026, 5, 8))

    day = client.get("/papers/").content.decode()
    detail = client.get(f"/papers/{mine.arxiv_id}/").content.decode()
    link = reverse("papers:author", kwargs={"name": name})

    assert f'href="{escape(link)}"' in day and f'href="{escape(link)}"' in detail
    assert unquote(link) == f"/papers/authors/{name}/"
    response = client.get(link)
    assert response.status_code == 200
    assert titles_in_order(response.content.decode()) == ["Mine"]
    assert (
        unescape(re.search(r'<span class="papers-author">(.*?)</span>', response.content.decode())[1]) == name
    )


def test_an_authors_papers_are_newest_first_and_paginated(client):
    for number in range(1, 32):
        paper(f"Paper {number}", ["Ada Lovelace"], day=min(number, 28))
    # Papers 28 to 31 share the 28th: the arXiv id (given in that order) decides among them.

    first = client.get("/papers/authors/Ada Lovelace/").content.decode()
    second = client.get("/papers/authors/Ada Lovelace/", {"page": "2"}).content.decode()

    assert "31 papers, newest first." in first
    assert titles_in_order(first)[:5] == ["Paper 28", "Paper 29", "Paper 30", "Paper 31", "Paper 27"]
    assert len(titles_in_order(first)) == 30
    assert titles_in_order(second) == ["Paper 1"]


def test_names_match_exactly_not_as_substrings_or_case_insensitively(client):
    paper("Exact", ["Ada Lovelace"])
    paper("Longer", ["Ada Lovelace-Byron"])
    paper("Lower", ["ada lovelace"])

    assert [p.title for p in papers_by_author(name="Ada Lovelace")] == ["Exact"]


def test_an_unknown_author_is_a_helpful_404(client):
    paper("Something", ["Ada Lovelace"])

    for url in ("/papers/authors/Nobody/", "/papers/authors/Ada/", "/papers/authors/Ada%00Lovelace/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Author not found" in response.content.decode()


def test_the_author_page_offers_their_papers_by_email_and_as_a_feed(client):
    paper("Mine", ["Zoë Müller"])

    html = client.get("/papers/authors/Zoë Müller/").content.decode()

    assert 'href="/?interests=author%3A%22Zo%C3%AB+M%C3%BCller%22"' in html
    assert 'type="application/atom+xml" title="Paperbox: author:&quot;Zoë Müller&quot;"' in html
    assert 'href="/papers/feed/?q=author%3A%22Zo%C3%AB+M%C3%BCller%22"' in html


def test_json_list_contains_is_exact_on_this_database():
    paper("Both", ["Ada", "Alan"], categories=["cs.CL", "cs.AI"])
    paper("Quoted", ['Say "hi"'], categories=["cs.CLX"])

    assert list(
        Paper.objects.filter(json_list_contains("authors", "Alan")).values_list("title", flat=True)
    ) == ["Both"]
    assert list(
        Paper.objects.filter(json_list_contains("authors", 'Say "hi"')).values_list("title", flat=True)
    ) == ["Quoted"]
    assert list(
        Paper.objects.filter(json_list_contains("categories", "cs.CL")).values_list("title", flat=True)
    ) == ["Both"]


def test_the_author_query_uses_the_authors_index_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite reads every row's JSON (json_each): fine for the embedded default's size.")
    paper("Mine", ["Ada Lovelace"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: see which index it can use
        plan = papers_by_author(name="Ada Lovelace").explain()

    assert "paper_authors_gin" in plan, plan
