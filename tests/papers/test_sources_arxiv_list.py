from __future__ import annotations

import pytest

from papers.sources.arxiv_list import listing_url, parse_listing
from papers.sources.errors import ParseError
from tests.fakes.upstream import arxiv_empty_listing_html, arxiv_list_body, arxiv_new_listing_html

URL = "https://arxiv.org/list/cs.HC/new"


def test_parse_listing_reads_the_real_listing():
    records = parse_listing(arxiv_list_body(), url=URL, category="cs.HC")

    assert [r.arxiv_id for r in records] == ["2301.00001", "2301.00002", "2301.00003"]
    assert records[0].title == "NFTrig"
    assert (
        records[1].title
        == "Evaluating Alternative Glyph Design for Showing Large-Magnitude-Range Quantum Spins"
    )
    assert records[2].title == (
        "Emotion in Cognitive Architecture: Emergent Properties from Interactions with Human Emotion"
    )
    assert records[0].authors == [
        "Jordan Thompson", "Ryan Benac", "Kidus Olana", "Talha Hassan", "Andrew Sward", "Tauheed Khan Mohd",
    ]  # fmt: skip
    assert records[1].categories == ["cs.HC", "cs.GR", "quant-ph"]  # primary first
    assert records[2].categories == ["cs.HC", "cs.AI"]
    assert all(r.source == "arxiv-list" and r.announce_type == "new" for r in records)


def test_parse_listing_reads_every_section_marks_cross_lists_and_skips_replacements():
    records = parse_listing(arxiv_new_listing_html(), url=URL, category="cs.HC")

    assert [(r.arxiv_id, r.announce_type) for r in records] == [
        ("2301.00001", "new"),
        ("2301.00002", "cross"),
    ]
    assert records[0].published_at == "2023-01-03T00:00:00+00:00"  # "Showing new listings for …"


def test_parse_listing_returns_nothing_on_a_day_without_updates():
    assert parse_listing(arxiv_empty_listing_html(), url=URL) == []


def test_parse_listing_rejects_a_page_without_articles_or_notice():
    body = arxiv_list_body()
    cut = body[: body.index(b"<dl id='articles'>")]
    with pytest.raises(
        ParseError, match="no <dl id='articles'> section and no 'No updates today' notice"
    ) as caught:
        parse_listing(cut, url=URL)
    assert caught.value.url == URL


def test_parse_listing_rejects_an_entry_without_a_title():
    body = arxiv_list_body().replace(b"list-title", b"list-nothing", 1)
    with pytest.raises(ParseError, match=r"entry 0 \(2301.00001\): no div.list-title"):
        parse_listing(body, url=URL)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<dl id='articles'><dt><a href='/abs/junk'>x</a></dt><dd></dd></dl>", "entry 0: no abstract link"),
        (b"<html>\xff</html>", "body is not UTF-8"),
    ],
)
def test_parse_listing_names_what_is_wrong(body, message):
    with pytest.raises(ParseError, match=message):
        parse_listing(body, url=URL)


def test_listing_url_is_the_new_submissions_page():
    assert listing_url(base_url="https://arxiv.org", category="cs.HC") == URL
