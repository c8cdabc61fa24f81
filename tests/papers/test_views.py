"""The papers pages through Django's test client, on the real database."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from papers.models import Paper
from tests.browser import chromium_page

pytestmark = pytest.mark.django_db

MAY_1, MAY_5, MAY_7, MAY_8, MAY_9 = (dt.date(2026, 5, day) for day in (1, 5, 7, 8, 9))
_counter = iter(range(10_000, 99_999))


def make_paper(**fields) -> Paper:
    number = next(_counter)
    defaults = {
        "arxiv_id": f"2605.{number:05d}",
        "title": f"Paper {number}",
        "abstract": f"An abstract for paper {number}.",
        "authors": ["Ada Lovelace", "Alan Turing"],
    }
    return Paper.objects.create(**{**defaults, **fields})


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def titles_in_order(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'<h2 class="paper-title"[^>]*><a [^>]*>(.*?)</a>', html)]


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def link_hrefs(html: str, text: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'<a [^>]*href="([^"]*)"[^>]*>\s*{text}', html)]


# --- The day page ---------------------------------------------------------------------------


def test_day_page_opens_on_most_recent_day_sorted_by_upvotes(client):
    make_paper(title="Middle", featured_on=MAY_8, upvotes=20)
    make_paper(title="Top", featured_on=MAY_8, upvotes=50)
    make_paper(title="Bottom", featured_on=MAY_8, upvotes=5)
    make_paper(title="Older day", featured_on=MAY_7, upvotes=500)

    response = client.get("/papers/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Friday, 8 May 2026" in html
    assert titles_in_order(html) == ["Top", "Middle", "Bottom"]
    assert "3 papers, most upvoted first." in html


def test_day_page_links_each_paper_to_hugging_face_arxiv_pdf_and_code(client):
    make_paper(
        arxiv_id="2605.05242",
        featured_on=MAY_8,
        github_repo="https://github.com/owner/repo",
        github_stars=1234,
        project_page="https://project.example/",
        upvotes=10,
    )
    make_paper(arxiv_id="2605.00001", featured_on=MAY_8)

    html = client.get("/papers/").content.decode()

    assert link_hrefs(html, "Hugging Face") == [
        "https://huggingface.co/papers/2605.05242",
        "https://huggingface.co/papers/2605.00001",
    ]
    assert link_hrefs(html, "arXiv") == [
        "https://arxiv.org/abs/2605.05242",
        "https://arxiv.org/abs/2605.00001",
    ]
    assert link_hrefs(html, "PDF") == ["https://arxiv.org/pdf/2605.05242", "https://arxiv.org/pdf/2605.00001"]
    # Only the paper with a repository has a code link, with its stars.
    assert link_hrefs(html, "Code") == ["https://github.com/owner/repo"]
    assert "★ 1,234" in html
    assert link_hrefs(html, "Project page") == ["https://project.example/"]
    assert '<a href="/papers/2605.05242/">' in html


def test_day_page_shows_short_authors_and_summary_before_abstract(client):
    make_paper(
        featured_on=MAY_8,
        authors=["A. One", "B. Two", "C. Three", "D. Four", "E. Five"],
        ai_summary="The summary written by Hugging Face.",
        abstract="The abstract.",
    )
    make_paper(featured_on=MAY_8, ai_summary="", abstract="Only an abstract here.")

    html = client.get("/papers/").content.decode()

    assert "A. One, B. Two, C. Three … +2" in text_of(html)
    assert '<a href="/papers/authors/A.%20One/">A. One</a>' in html
    assert "D. Four" not in html
    assert "The summary written by Hugging Face." in html
    assert "The abstract." not in html
    assert "Only an abstract here." in html


def test_latest_day_counts_arxiv_only_papers(client):
    make_paper(title="Featured", featured_on=MAY_8, published_at=at(MAY_5))
    make_paper(title="Only on arXiv", featured_on=None, published_at=at(MAY_9, 3))

    html = client.get("/papers/").content.decode()

    assert "Saturday, 9 May 2026" in html
    assert titles_in_order(html) == ["Only on arXiv"]


def test_arxiv_only_papers_belong_to_their_publication_day_and_featured_ones_do_not(client):
    make_paper(title="Featured later", featured_on=MAY_8, published_at=at(MAY_5, 10))
    make_paper(title="Start of day", featured_on=None, published_at=at(MAY_5, 0, 0))
    make_paper(title="End of day", featured_on=None, published_at=at(MAY_5, 23, 59), upvotes=1)
    make_paper(title="Next day", featured_on=None, published_at=at(MAY_5 + dt.timedelta(days=1), 0, 0))

    html = client.get("/papers/?date=2026-05-05").content.decode()

    assert titles_in_order(html) == ["End of day", "Start of day"]


def test_day_navigation_links_the_nearest_days_with_papers_across_gaps(client):
    make_paper(featured_on=MAY_1)
    make_paper(featured_on=None, published_at=at(MAY_5))
    make_paper(featured_on=MAY_8)

    middle = client.get("/papers/?date=2026-05-05").content.decode()
    first = client.get("/papers/?date=2026-05-01").content.decode()
    last = client.get("/papers/").content.decode()

    assert re.search(r'rel="prev" href="/papers/\?date=2026-05-01"', middle)
    assert re.search(r'rel="next" href="/papers/\?date=2026-05-08"', middle)
    assert 'aria-disabled="true">← No earlier day' in first
    assert re.search(r'rel="next" href="/papers/\?date=2026-05-05"', first)
    assert re.search(r'rel="prev" href="/papers/\?date=2026-05-05"', last)
    assert 'aria-disabled="true">No later day →' in last


def test_day_navigation_from_a_day_without_papers_goes_to_the_neighbours(client):
    make_paper(featured_on=MAY_1)
    make_paper(featured_on=MAY_8)

    response = client.get("/papers/?date=2026-05-03")

    html = response.content.decode()
    assert response.status_code == 200
    assert "No papers on Sunday, 3 May 2026." in html
    assert re.search(r'rel="prev" href="/papers/\?date=2026-05-01"', html)
    assert re.search(r'rel="next" href="/papers/\?date=2026-05-08"', html)


def test_date_picker_is_a_labelled_get_form_that_selects_the_day(client):
    make_paper(title="Seventh", featured_on=MAY_7)
    make_paper(title="Eighth", featured_on=MAY_8)

    html = client.get("/papers/?date=2026-05-07").content.decode()

    form = re.search(r'<form class="papers-date" method="get" action="/papers/">(.*?)</form>', html, re.S)
    assert form is not None
    assert '<label for="papers-date">' in form.group(1)
    assert 'type="date" id="papers-date" name="date" value="2026-05-07" max="2026-05-08"' in form.group(1)
    assert titles_in_order(html) == ["Seventh"]


@pytest.mark.parametrize("bad_date", ["2026-02-30", "yesterday", "2026-5-8", "9999-12-31", "<b>x</b>"])
def test_bad_date_shows_a_friendly_message(client, bad_date):
    make_paper(featured_on=MAY_8)

    response = client.get("/papers/", {"date": bad_date})

    html = response.content.decode()
    assert response.status_code == 400
    assert "That is not a date" in html
    assert "use YYYY-MM-DD" in html
    assert "<b>x</b>" not in html
    assert 'href="/papers/"' in html


def test_empty_database_shows_how_to_fetch_papers(client):
    response = client.get("/papers/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "No papers yet" in html
    assert "python manage.py fetch_papers" in html


def test_day_page_runs_the_same_queries_for_few_or_many_papers(client):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/papers/").status_code == 200
        return len(queries)

    make_paper(featured_on=MAY_7)
    make_paper(featured_on=MAY_8)
    few = count_queries()
    for _ in range(40):
        make_paper(featured_on=MAY_8, categories=["cs.CL"], github_repo="https://github.com/a/b")

    assert count_queries() == few


def test_day_page_paginates_large_arxiv_only_days(client):
    Paper.objects.bulk_create(
        Paper(arxiv_id=f"2605.{n:05d}", title=f"Bulk {n}", featured_on=None, published_at=at(MAY_5))
        for n in range(105)
    )

    first = client.get("/papers/?date=2026-05-05").content.decode()
    second = client.get("/papers/?date=2026-05-05&page=2").content.decode()

    assert len(titles_in_order(first)) == 100
    assert len(titles_in_order(second)) == 5
    assert 'href="?date=2026-05-05&amp;page=2"' in first
    assert "Page 2 of 2" in second


# --- Search ---------------------------------------------------------------------------------


def test_search_matches_words_in_title_or_abstract(client):
    make_paper(title="Scaling Diffusion Models", abstract="Images.", upvotes=3)
    make_paper(title="A study", abstract="We train a diffusion model on text.", upvotes=9)
    make_paper(title="Unrelated", abstract="Reinforcement learning for robots.")

    response = client.get("/papers/", {"q": "diffusion model"})

    html = response.content.decode()
    assert response.status_code == 200
    assert set(titles_in_order(html)) == {"Scaling Diffusion Models", "A study"}
    assert "2 papers found" in html
    assert 'value="diffusion model"' in html


def test_search_stems_words_and_ranks_as_a_digest_would(client):
    # Same day, so only the field and the upvotes differ: a title match (3) beats an abstract one (2)
    # unless upvotes make up for it, as in the digest's score.
    make_paper(title="Learning to rank", abstract="We trained rankers.", upvotes=1, featured_on=MAY_8)
    make_paper(title="Other", abstract="Ranking is learned here.", upvotes=1, featured_on=MAY_8)
    make_paper(title="Popular", abstract="Ranking is learned here.", upvotes=500, featured_on=MAY_8)
    make_paper(title="Unrelated", abstract="Nothing about it.", featured_on=MAY_8)

    html = client.get("/papers/", {"q": "ranked learns"}).content.decode()

    assert titles_in_order(html) == ["Popular", "Learning to rank", "Other"]


@pytest.mark.parametrize(
    "query", ["2605.05242", "2605.05242v3", "arXiv:2605.05242", "https://arxiv.org/abs/2605.05242"]
)
def test_an_arxiv_id_in_the_search_box_jumps_to_the_paper(client, query):
    make_paper(arxiv_id="2605.05242", title="Found by id")

    response = client.get("/papers/", {"q": query})

    assert response.status_code == 302
    assert response["Location"] == "/papers/2605.05242/"


def test_an_unknown_arxiv_id_is_searched_and_says_where_to_find_it(client):
    make_paper(title="Something else")

    html = client.get("/papers/", {"q": "2605.99999"}).content.decode()

    assert "There is no paper 2605.99999 here yet." in html
    assert 'href="https://arxiv.org/abs/2605.99999"' in html


def test_search_paginates_thirty_per_page_and_keeps_the_query(client):
    for n in range(35):
        make_paper(title=f"Transformer variant {n}", upvotes=n)

    first = client.get("/papers/", {"q": "transformer"}).content.decode()
    second = client.get("/papers/", {"q": "transformer", "page": "2"}).content.decode()

    assert len(titles_in_order(first)) == 30
    assert titles_in_order(first)[0] == "Transformer variant 34"
    assert "35 papers found" in first
    assert 'rel="next" href="?q=transformer&amp;page=2"' in first
    assert len(titles_in_order(second)) == 5
    assert 'rel="prev" href="?q=transformer&amp;page=1"' in second
    assert "Page 2" in second
    assert 'aria-disabled="true">Next page →' in second


@pytest.mark.parametrize("page", ["3", "0", "abc", "-1", "1" * 5000, "٣"])
def test_search_bad_page_is_a_friendly_404(client, page):
    make_paper(title="Transformer")

    response = client.get("/papers/", {"q": "transformer", "page": page})

    assert response.status_code == 404
    html = response.content.decode()
    assert "No such page" in html
    assert f"There is no page “{page}” of these results." in unescape(html)


def test_search_ignores_nul_characters_instead_of_failing(client):
    make_paper(title="Transformer")

    response = client.get("/papers/", {"q": "trans\x00former"})

    assert response.status_code == 200
    assert titles_in_order(response.content.decode()) == ["Transformer"]


def test_search_without_results_says_so(client):
    make_paper(title="Transformer")

    html = client.get("/papers/", {"q": "zebra"}).content.decode()

    assert "No papers match “zebra”" in html


def test_search_speaks_the_interest_language(client):
    make_paper(title="Diffusion language models", abstract="Text by denoising.", featured_on=MAY_8)
    make_paper(title="Language of diffusion", abstract="Physics.", featured_on=MAY_8)
    make_paper(title="Video diffusion", abstract="Frames.", featured_on=MAY_8)
    make_paper(title="Reinforcement learning for control", abstract="A world model.", featured_on=MAY_8)
    make_paper(title="World control", abstract="No acronym here.", featured_on=MAY_8)

    def found(line: str) -> set[str]:
        return set(titles_in_order(client.get("/papers/", {"q": line}).content.decode()))

    assert found('"diffusion language"') == {"Diffusion language models"}
    assert found("diffusion -video") == {"Diffusion language models", "Language of diffusion"}
    assert found("RL") == {"Reinforcement learning for control"}
    assert found("title:world") == {"World control"}
    assert found("diffus*") == {"Diffusion language models", "Language of diffusion", "Video diffusion"}


def test_search_results_show_the_matched_words_once(client):
    make_paper(title="Diffusion models", abstract="More diffusion, DIFFUSION.", featured_on=MAY_8)

    html = client.get("/papers/", {"q": "diffusion"}).content.decode()

    assert '<span class="muted">Matched:</span> <mark>Diffusion</mark></p>' in html


def test_search_offers_its_results_by_email_and_as_a_feed(client):
    make_paper(title="Sparse autoencoders", featured_on=MAY_8)

    html = client.get("/papers/", {"q": '"sparse autoencoder" OR SAE'}).content.decode()

    assert (
        '<a class="button" href="/?interests=%22sparse+autoencoder%22+OR+SAE">Get these by email</a>' in html
    )
    assert (
        'href="/papers/feed/?q=%22sparse+autoencoder%22+OR+SAE" type="application/atom+xml">Atom feed</a>'
        in html
    )


@pytest.mark.parametrize(
    ("line", "message", "marked"),
    [
        ('diffusion "language', "Unclosed quote</strong> at character 11: expected a closing quote.", '"'),
        ("agents OR", "OR without an item after it</strong> at character 10", " "),
        ("-video", "No item that is not excluded</strong> at character 1", "-"),
        ("quant*ization", "&#x27;*&#x27; inside a word</strong> at character 6", "*"),
    ],
)
def test_a_search_that_does_not_parse_shows_where_and_why(client, line, message, marked):
    make_paper(title="Anything")

    response = client.get("/papers/", {"q": line})

    html = response.content.decode()
    assert response.status_code == 400
    assert "That search does not parse" in html
    assert message in html
    assert f'<mark class="papers-syntax-at">{escape(marked)}</mark>' in html
    assert f'value="{escape(line)}"' in html  # the line stays in the box, to fix it


def test_a_long_search_pages_on_without_counting_every_match(client, monkeypatch):
    from papers import search

    monkeypatch.setattr(search, "FIRST_CHUNK", 10)
    for n in range(70):
        make_paper(title=f"Model {n}", upvotes=n, featured_on=MAY_8)

    first = client.get("/papers/", {"q": "model"}).content.decode()
    third = client.get("/papers/", {"q": "model", "page": "3"}).content.decode()

    assert "Papers 1\u201330 of many" in first
    assert titles_in_order(first) == [f"Model {n}" for n in range(69, 39, -1)]
    assert titles_in_order(third) == [f"Model {n}" for n in range(9, -1, -1)]
    assert 'aria-disabled="true">Next page →' in third
    assert client.get("/papers/", {"q": "model", "page": "4"}).status_code == 404


# --- One paper ------------------------------------------------------------------------------


def test_detail_page_shows_the_paper(client):
    make_paper(
        arxiv_id="2605.05242",
        title="A Great Paper",
        authors=["A. One", "B. Two", "C. Three", "D. Four"],
        abstract="First paragraph.\n\nSecond paragraph.",
        ai_summary="What it does, briefly.",
        ai_keywords=["diffusion", "long context"],
        categories=["cs.CL", "cs.AI"],
        featured_on=MAY_8,
        upvotes=42,
        github_repo="https://github.com/owner/repo",
        github_stars=99,
        project_page="https://project.example/",
        thumbnail="https://cdn.example/thumb.png",
    )

    response = client.get("/papers/2605.05242/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>A Great Paper</h1>" in html
    assert "A. One, B. Two, C. Three, D. Four" in text_of(html)
    assert '<a href="/papers/authors/D.%20Four/">D. Four</a>' in html
    assert "<p>First paragraph.</p>" in html
    assert "What it does, briefly." in html
    # A keyword searches as a phrase, the way the interest language spells it.
    assert '<a href="/papers/?q=%22long%20context%22">long context</a>' in html
    assert "<li>cs.CL</li><li>cs.AI</li>" in html
    assert "<strong>42</strong> upvotes" in html
    assert '<a href="https://github.com/owner/repo">owner/repo</a> · ★ 99' in html
    assert link_hrefs(html, "Project page") == ["https://project.example/"]
    assert link_hrefs(html, "PDF") == ["https://arxiv.org/pdf/2605.05242"]
    assert re.search(r'<img [^>]*src="https://cdn.example/thumb.png" loading="lazy"[^>]*alt="[^"]+"', html)
    assert 'href="/papers/?date=2026-05-08">Daily papers of 8 May 2026' in html
    headings = re.findall(r"<h(\d)", html)
    assert headings[0] == "1" and set(headings[1:]) == {"2"}


def test_detail_page_of_an_arxiv_only_paper_links_its_publication_day(client):
    make_paper(arxiv_id="2605.00002", featured_on=None, published_at=at(MAY_5, 23, 30))

    html = client.get("/papers/2605.00002/").content.decode()

    assert 'href="/papers/?date=2026-05-05">Published 5 May 2026' in html


def test_versioned_id_redirects_to_the_unversioned_page(client):
    make_paper(arxiv_id="2605.05242")

    response = client.get("/papers/2605.05242v2/")

    assert response.status_code == 301
    assert response["Location"] == "/papers/2605.05242/"


def test_old_style_arxiv_id_has_a_page(client):
    make_paper(arxiv_id="hep-th/9901001", title="Old style")

    assert client.get("/papers/hep-th/9901001v1/")["Location"] == "/papers/hep-th/9901001/"
    assert "<h1>Old style</h1>" in client.get("/papers/hep-th/9901001/").content.decode()


def test_unknown_paper_is_a_friendly_404(client):
    response = client.get("/papers/2605.99999/")

    assert response.status_code == 404
    assert "There is no paper 2605.99999 here yet." in response.content.decode()


# --- Untrusted text -------------------------------------------------------------------------


def test_titles_abstracts_and_links_from_outside_are_escaped(client):
    make_paper(
        arxiv_id="2605.00666",
        title="<script>alert('title')</script>",
        abstract="<img src=x onerror=alert(1)>",
        authors=["<b>Mallory</b>"],
        ai_keywords=["<i>kw</i>"],
        featured_on=MAY_8,
        github_repo="javascript:alert(1)",
        project_page="data:text/html,<script>alert(2)</script>",
        thumbnail="javascript:alert(3)",
    )

    pages = [
        client.get("/papers/").content.decode(),
        client.get("/papers/", {"q": "alert"}).content.decode(),
        client.get("/papers/2605.00666/").content.decode(),
    ]

    for html in pages:
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html
        assert "<b>Mallory</b>" not in html
        assert "javascript:" not in html
        assert "data:text/html" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[2]
    assert "&lt;i&gt;kw&lt;/i&gt;" in pages[2]


# --- In a real browser ----------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_day_navigation_date_picker_and_search_in_a_real_browser(live_server):
    make_paper(title="First of May", featured_on=MAY_1, upvotes=3)
    make_paper(title="Eighth of May", featured_on=MAY_8, upvotes=7, abstract="About sparse attention.")
    papers_url = f"{live_server.url}/papers/"

    with chromium_page() as page:
        page.goto(papers_url)
        assert page.locator("h1").inner_text() == "Daily papers\nFriday, 8 May 2026"

        page.get_by_label("Go to day").fill("2026-05-01")
        page.get_by_role("button", name="Go").click()
        page.wait_for_url(f"{papers_url}?date=2026-05-01")
        assert page.locator(".paper-title").all_inner_texts() == ["First of May"]

        page.get_by_role("link", name="Fri 8 May →").click()
        page.wait_for_url(f"{papers_url}?date=2026-05-08")

        page.get_by_label("Search papers").fill("sparse attention")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{papers_url}?q=sparse+attention")
        assert page.locator(".paper-title").all_inner_texts() == ["Eighth of May"]

        # Keyboard users see where they are.
        page.locator(".paper-title a").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"

        # A phone-sized screen never scrolls sideways.
        page.set_viewport_size({"width": 360, "height": 800})
        page.goto(papers_url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_far_page_of_a_common_word_reads_its_candidates_in_bounded_rounds(client, monkeypatch):
    from papers import search

    monkeypatch.setattr(search, "MAX_CHUNK", 8)  # rounds of at most 8 ids, however far the page
    for n in range(40):
        make_paper(title=f"Model {n}", upvotes=n, featured_on=MAY_8)

    with CaptureQueriesContext(connection) as queries:
        html = client.get("/papers/", {"q": "model", "page": "2"}).content.decode()

    assert titles_in_order(html) == [f"Model {n}" for n in range(9, -1, -1)]
    # The rounds' record loads: ids IN (...), in id order (the page's own papers are read once more).
    rounds = [
        found[1].split(",")
        for q in queries
        if (found := re.search(r'"id" IN \(([^)]*)\) ORDER BY 1 ASC$', q["sql"]))
    ]
    assert len(rounds) >= 3 and max(len(ids) for ids in rounds) <= 8
