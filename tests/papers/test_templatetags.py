"""The filters the papers templates use to show untrusted, uneven data."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from papers.templatetags.papers_tags import github_slug, http_url, short_authors


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        ([], ""),
        (None, ""),
        (["Ada"], "Ada"),
        (["Ada", "Alan", "Grace"], "Ada, Alan, Grace"),
        (["Ada", "Alan", "Grace", "Edsger"], "Ada, Alan, Grace, Edsger"),  # "+1" would save no space
        ([f"Author {n}" for n in range(10)], "Author 0, Author 1, Author 2 … +7"),
        (["Ada", " ", "", "Alan"], "Ada, Alan"),
    ],
)
def test_short_authors_lists_three_then_counts_the_rest(authors, expected):
    assert short_authors(authors) == expected


def test_short_authors_takes_how_many_to_show():
    assert short_authors(["A", "B", "C", "D"], 1) == "A … +3"


def test_short_authors_output_is_escaped_in_templates():
    template = Template("{% load papers_tags %}{{ authors|short_authors }}")

    html = template.render(Context({"authors": ["<b>Mallory</b>", "Bob & Co"]}))

    assert html == "&lt;b&gt;Mallory&lt;/b&gt;, Bob &amp; Co"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/owner/repo", "owner/repo"),
        ("https://github.com/owner/repo.git", "owner/repo"),
        ("https://github.com/owner/repo/tree/main/src", "owner/repo"),
        ("https://gitlab.com/group/project/", "gitlab.com/group/project"),
        ("", ""),
        (None, ""),
    ],
)
def test_github_slug_names_the_repository(url, expected):
    assert github_slug(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a", "https://example.org/a"),
        (" http://example.org/ ", "http://example.org/"),
        ("javascript:alert(1)", ""),
        ("JavaScript:alert(1)", ""),
        ("data:text/html,<script>", ""),
        ("//example.org/no-scheme", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_http_url_keeps_only_http_links(url, expected):
    assert http_url(url) == expected
