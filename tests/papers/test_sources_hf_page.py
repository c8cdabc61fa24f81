from __future__ import annotations

from datetime import date

import pytest

from papers.sources.errors import ParseError
from papers.sources.hf_api import parse_daily_papers
from papers.sources.hf_page import page_url, parse_daily_papers_page
from tests.fakes.upstream import hf_api_body, hf_entries, hf_page_html

URL = "https://huggingface.co/papers/date/2026-05-08"


def test_parse_daily_papers_page_reads_the_blob_like_the_api():
    from_page = parse_daily_papers_page(hf_page_html(), url=URL)
    from_api = parse_daily_papers(hf_api_body(), url=URL)

    assert len(from_page) == 37
    assert [r.source for r in from_page] == ["hf"] * 37
    for page_record, api_record in zip(from_page, from_api, strict=True):
        page_record.source = api_record.source
        assert page_record == api_record


def test_parse_daily_papers_page_falls_back_to_the_cards():
    records = parse_daily_papers_page(hf_page_html(blob=False), url=URL)

    assert len(records) == 37
    assert records[0].arxiv_id == "2605.05242"
    assert records[0].title.startswith("Beyond Semantic Similarity")
    assert records[0].upvotes == 86
    assert records[0].comment_count == 3
    assert records[0].thumbnail.endswith("/papers/2605.05242.png")
    assert records[-1].arxiv_id == "2602.00095"
    assert records[-1].upvotes == 2
    assert records[0].abstract == ""  # the cards carry no abstract: unknown, not wrong


def test_parse_daily_papers_page_returns_nothing_for_an_empty_day():
    assert parse_daily_papers_page(hf_page_html([]), url=URL) == []


def test_parse_daily_papers_page_rejects_a_page_without_blob_or_cards():
    page = b"<html><body><h1>Daily Papers</h1><p>Something went wrong</p></body></html>"
    with pytest.raises(ParseError, match=r"neither the .* blob nor any paper card") as caught:
        parse_daily_papers_page(page, url=URL)
    assert caught.value.url == URL


def test_parse_daily_papers_page_reports_a_page_cut_inside_the_blob():
    page = hf_page_html()
    cut = page[: page.index(b"&quot;2605.06130&quot;")]
    with pytest.raises(ParseError, match="the page layout changed or the body is truncated"):
        parse_daily_papers_page(cut, url=URL)


def test_parse_daily_papers_page_reports_a_blob_whose_json_is_cut_short():
    page = hf_page_html()
    start = page.index(b"&quot;2605.06130&quot;")
    cut = page[:start] + page[page.index(b'">', start) :]
    with pytest.raises(ParseError, match=r"data-props is not valid JSON: .* truncated\?"):
        parse_daily_papers_page(cut, url=URL)


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (b'<div data-target="DailyPapers"></div>', "has no data-props attribute"),
        (
            b'<div data-target="DailyPapers" data-props="{&quot;papers&quot;:[]}"></div>',
            "no 'dailyPapers' list",
        ),
        (b'<div data-target="DailyPapers" data-props="[1]"></div>', "no 'dailyPapers' list"),
        (b"<html>\xe9t\xe9</html>", "body is not UTF-8"),
    ],
)
def test_parse_daily_papers_page_names_what_is_missing(page, message):
    with pytest.raises(ParseError, match=message):
        parse_daily_papers_page(page, url=URL)


def test_parse_daily_papers_page_rejects_a_card_without_an_id():
    page = b'<article><a href="/papers/trending">Trending</a><h3>x</h3></article>'
    with pytest.raises(ParseError, match="card 0: link '/papers/trending' does not name an arXiv id"):
        parse_daily_papers_page(page, url=URL)


def test_parse_daily_papers_page_reads_duplicated_ids_as_they_come():
    entries = hf_entries()[:2]
    entries[1]["paper"]["id"] = entries[0]["paper"]["id"] + "v2"
    records = parse_daily_papers_page(hf_page_html(entries), url=URL)
    # Merging is the ingestion service's job; the parser reports what the page says.
    assert [r.arxiv_id for r in records] == ["2605.05242", "2605.05242"]


def test_page_url_is_the_dated_daily_papers_page():
    assert page_url(base_url="https://huggingface.co", day=date(2026, 5, 8)) == URL
