from __future__ import annotations

import json
from datetime import date

import pytest

from papers.sources.errors import ParseError
from papers.sources.hf_api import api_url, parse_daily_papers
from tests.fakes.upstream import hf_api_body, hf_entries

URL = "https://huggingface.co/api/daily_papers?date=2026-05-08"


def test_parse_daily_papers_reads_every_entry_of_the_real_capture():
    records = parse_daily_papers(hf_api_body(), url=URL)

    assert len(records) == 37
    assert [r.arxiv_id for r in records[:3]] == ["2605.05242", "2605.06548", "2605.06130"]
    assert records[-1].arxiv_id == "2602.00095"
    assert len({r.arxiv_id for r in records}) == 37
    assert all(r.source == "hf-api" and r.featured_on == "2026-05-08" for r in records)


def test_parse_daily_papers_maps_the_first_entry_field_by_field():
    first = parse_daily_papers(hf_api_body(), url=URL)[0]

    assert first.title == (
        "Beyond Semantic Similarity: Rethinking Retrieval for Agentic Search via Direct Corpus Interaction"
    )
    assert first.upvotes == 86  # paper.upvotes, not a top-level field
    assert first.comment_count == 3
    assert first.published_at == "2026-05-03T00:00:00+00:00"  # paper.publishedAt, not the top-level one
    assert first.authors[:3] == ["Zhuofeng Li", "Haoxiang Zhang", "Cong Wei"]
    assert len(first.authors) == 19
    assert first.github_repo == "https://github.com/DCI-Agent/DCI-Agent-Lite"
    assert first.github_stars == 101
    assert first.thumbnail == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2605.05242.png"
    assert first.ai_summary.startswith("Direct corpus interaction enables")
    assert first.ai_keywords[:2] == ["retrieval systems", "lexical retrieval"]
    assert first.abstract.startswith("Modern retrieval systems, whether lexical or semantic")


def test_parse_daily_papers_keeps_absent_optional_fields_unknown():
    records = {r.arxiv_id: r for r in parse_daily_papers(hf_api_body(), url=URL)}

    assert records["2605.06548"].github_stars is None
    assert records["2605.06548"].github_repo == ""
    assert sum(1 for r in records.values() if r.project_page) == 11
    assert sum(1 for r in records.values() if not r.ai_summary) == 2


def test_parse_daily_papers_returns_nothing_for_a_day_without_papers():
    assert parse_daily_papers(b"[]", url=URL) == []


def test_parse_daily_papers_strips_versions_from_ids():
    entries = hf_entries()[:1]
    entries[0]["paper"]["id"] = "2605.05242v3"
    assert parse_daily_papers(json.dumps(entries).encode(), url=URL)[0].arxiv_id == "2605.05242"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": "Invalid date"}', "expected a JSON list of daily-paper entries, got a JSON object"),
        (b'[{"title": "no paper"}]', "entry 0: expected an object with a 'paper' object"),
        (b'[{"paper": {"title": "x"}}]', "entry 0: paper.id is missing"),
        (b'[{"paper": {"id": "nope", "title": "x"}}]', "entry 0: paper.id 'nope' is not an arXiv id"),
        (
            b'[{"paper": {"id": "2605.05242", "title": " "}}]',
            r"entry 0 \(2605.05242\): paper.title is missing",
        ),
        (b"\xff\xfe[]", "body is not UTF-8"),
    ],
)
def test_parse_daily_papers_names_the_url_and_what_is_wrong(body, message):
    with pytest.raises(ParseError, match=message) as caught:
        parse_daily_papers(body, url=URL)
    assert caught.value.url == URL
    assert str(caught.value).startswith(URL)


def test_parse_daily_papers_reports_a_truncated_body():
    body = hf_api_body()
    with pytest.raises(ParseError, match=r"not valid JSON: .* \(of 150000 characters; truncated\?\)"):
        parse_daily_papers(body[:150_000], url=URL)


def test_api_url_puts_the_date_in_the_query():
    assert api_url(base_url="http://127.0.0.1:1", day=date(2026, 5, 8)) == (
        "http://127.0.0.1:1/api/daily_papers?date=2026-05-08"
    )
