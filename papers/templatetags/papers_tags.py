"""Template filters for showing papers."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from django import template

register = template.Library()


@register.filter
def short_authors(authors: Sequence[str] | None, shown: int = 3) -> str:
    """The first `shown` authors, then how many more there are: "A, B, C … +7".

    Returns plain text: the template escapes it like any other value.
    """
    names = [str(name) for name in authors or [] if str(name).strip()]
    listed = ", ".join(names[:shown])
    rest = len(names) - shown
    return f"{listed} … +{rest}" if rest > 0 else listed


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
