"""Template filters for showing papers."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from django import template

from papers.authors import SHOWN_AUTHORS, first_authors
from papers.authors import short_authors as shorten

register = template.Library()


@register.filter
def short_authors(authors: Sequence[str] | None, shown: int = SHOWN_AUTHORS) -> str:
    """The first `shown` authors, then how many more there are: "A, B, C … +7" (papers.authors)."""
    return shorten(authors, shown)


@register.filter
def author_links(authors: Sequence[str] | None, shown: int = SHOWN_AUTHORS) -> dict[str, list[str] | int]:
    """`short_authors` for a template that links each name: {"names": [...], "more": 7}."""
    names, more = first_authors(authors, shown)
    return {"names": names, "more": more}


@register.filter
def github_slug(url: str | None) -> str:
    """The "owner/repo" of a GitHub repository URL; any other URL is shown as its host and path."""
    if not url:
        return ""
    parts = urlsplit(url)
    path = parts.path.strip("/").removesuffix(".git")
    if parts.netloc.lower() in {"github.com", "www.github.com"} and path:
        return "/".join(path.split("/")[:2])
    return f"{parts.netloc}{parts.path}".rstrip("/")


@register.filter
def http_url(url: str | None) -> str:
    """The URL if it is http(s), else "": stored links come from outside and end up in href/src."""
    if url and urlsplit(url.strip()).scheme.lower() in {"http", "https"}:
        return url.strip()
    return ""


@register.filter
def as_phrase(words: str) -> str:
    """Words as a quoted phrase of the interest language (quotes inside cannot be escaped: dropped)."""
    return '"' + str(words).replace('"', " ").strip() + '"'
