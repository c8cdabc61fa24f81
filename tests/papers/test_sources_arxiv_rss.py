from __future__ import annotations

import pytest

from papers.sources.arxiv_rss import feed_url, parse_feed
from papers.sources.errors import ParseError
from tests.fakes.upstream import arxiv_empty_rss_body, arxiv_rss_body

URL = "https://rss.arxiv.org/rss/cs.AI"


def test_parse_feed_reads_every_item_of_the_real_feed():
    records = parse_feed(arxiv_rss_body(), url=URL, category="cs.AI")

    assert [r.arxiv_id for r in records] == ["2604.21935", "2604.21936", "2604.21937"]
    assert records[0].title == "Math Takes Two: A test for emergent mathematical reasoning in communication"
    assert records[0].authors == ["Michael Cooper", "Samuel Cooper"]
    assert records[0].categories == ["cs.AI", "cs.LG"]
    assert records[1].categories == ["cs.AI", "cs.CV", "cs.MA"]
    assert len(records[2].authors) == 17
    assert records[0].published_at == "2026-04-27T04:00:00+00:00"
    assert records[0].abstract.startswith("Although language models demonstrate remarkable proficiency")
    assert "Announce Type" not in records[0].abstract
    assert all(r.source == "arxiv-rss" and r.announce_type == "new" for r in records)
    # RSS knows nothing of upvotes: unknown, so ingestion keeps what Hugging Face said.
    assert all(r.upvotes is None and r.featured_on is None for r in records)


def test_parse_feed_returns_nothing_for_a_weekend_feed():
    assert parse_feed(arxiv_empty_rss_body(), url=URL) == []


def test_parse_feed_keeps_cross_lists_marked_and_skips_replacements():
    body = arxiv_rss_body()
    body = body.replace(
        b"<arxiv:announce_type>new</arxiv:announce_type>",
        b"<arxiv:announce_type>cross</arxiv:announce_type>",
        1,
    )
    last = body.rindex(b"<arxiv:announce_type>new")
    body = body[:last] + body[last:].replace(b">new<", b">replace<", 1)

    records = parse_feed(body, url=URL)

    assert [(r.arxiv_id, r.announce_type) for r in records] == [
        ("2604.21935", "cross"),
        ("2604.21936", "new"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<rss><channel><item><title>x", r"not well-formed XML .*line 1; truncated\?"),
        (b"<feed><entry/></feed>", "expected an RSS document with <rss><channel>, got root <feed>"),
        (
            b"<rss><channel><item><guid>nope</guid><title>x</title></item></channel></rss>",
            "item 0: guid/link 'nope'",
        ),
        (
            b"<rss><channel><item><guid>2604.21935v1</guid></item></channel></rss>",
            r"item 0 \(2604.21935\): <title>",
        ),
        (b"<rss><channel><title>caf\xe9</title></channel></rss>", "not well-formed XML"),
    ],
)
def test_parse_feed_names_the_url_and_what_is_wrong(body, message):
    with pytest.raises(ParseError, match=message) as caught:
        parse_feed(body, url=URL)
    assert caught.value.url == URL


def test_parse_feed_does_not_expand_entities():
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY boom "BOOM">]>'
        b"<rss><channel><item><guid>2604.21935v1</guid><title>&boom;</title></item></channel></rss>"
    )
    with pytest.raises(ParseError, match=r"item 0 \(2604.21935\): <title> is missing"):
        parse_feed(body, url=URL)


def test_parse_feed_reports_a_body_cut_short():
    body = arxiv_rss_body()
    with pytest.raises(ParseError, match="not well-formed XML"):
        parse_feed(body[: len(body) // 2], url=URL)


def test_feed_url_names_the_category():
    assert feed_url(base_url="https://rss.arxiv.org", category="cs.AI") == URL
