from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings

from papers.sources.registry import SOURCES, detect_source
from tests.fakes.upstream import arxiv_list_body, arxiv_rss_body, hf_api_body, hf_page_html


def test_sources_cover_every_configurable_source():
    assert set(SOURCES) == settings.PAPER_SOURCE_CHOICES


@pytest.mark.parametrize(
    ("name", "category", "expected"),
    [
        ("hf", None, "http://h/papers/date/2026-05-08"),
        ("hf-api", None, "http://h/api/daily_papers?date=2026-05-08"),
        ("arxiv-rss", "cs.CL", "http://h/rss/cs.CL"),
        ("arxiv-list", "cs.CL", "http://h/list/cs.CL/new"),
    ],
)
def test_source_url_builds_each_sources_address(name, category, expected):
    assert SOURCES[name].url(base_url="http://h", day=date(2026, 5, 8), category=category) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (hf_api_body(), "hf-api"),
        (hf_page_html(), "hf"),
        (hf_page_html(blob=False), "hf"),
        (arxiv_rss_body(), "arxiv-rss"),
        (arxiv_list_body(), "arxiv-list"),
        (b"hello", None),
    ],
)
def test_detect_source_recognises_saved_pages(body, expected):
    assert detect_source(body) == expected
