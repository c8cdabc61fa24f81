"""The normalized paper record every source parser returns, and the helpers they share.

Records are plain data: JSON-serializable (dates are ISO strings) so the `fetch_papers --json`
command can print them, and free of the ORM so parsers stay pure and fast to test.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from papers.sources.errors import InvalidArxivId

# 2401.12345 (since 2015: five digits), 0704.0001 (2007-2014: four digits), hep-th/9901001 (before 2007).
NEW_STYLE_ID = re.compile(r"^\d{4}\.\d{4,5}$")
OLD_STYLE_ID = re.compile(r"^[a-z-]+(\.[A-Z]{2})?/\d{7}$")
VERSION_SUFFIX = re.compile(r"v\d+$")
ID_PREFIXES = ("https://arxiv.org/abs/", "http://arxiv.org/abs/", "oai:arxiv.org:", "arxiv:")
URL_MAX_LENGTH = 500  # the model's URLField max_length
# PositiveIntegerField is a 32-bit integer column: a bigger "count" would fail the whole page's insert.
COUNT_MAX = 2**31 - 1
# PostgreSQL text and jsonb cannot hold NUL, UTF-8 cannot encode a lone surrogate (JSON allows
# "\ud800"), and control characters are never meant in a title: one such string would otherwise
# fail the whole page's transaction. Whitespace controls (tab, newline…) are collapsed, not dropped.
UNSTORABLE_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")

ANNOUNCE_NEW = "new"
ANNOUNCE_CROSS = "cross"


@dataclass
class PaperRecord:
    """One paper as one source saw it. `None` means "this source does not know", not zero."""

    arxiv_id: str
    title: str
    source: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None  # ISO 8601 datetime, UTC
    featured_on: str | None = None  # ISO date: the day on Hugging Face Daily Papers
    upvotes: int | None = None
    comment_count: int | None = None
    github_repo: str = ""
    github_stars: int | None = None
    project_page: str = ""
    thumbnail: str = ""
    ai_summary: str = ""
    ai_keywords: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    # arXiv listings: "new" for a submission to this category, "cross" for a cross-list from another.
    announce_type: str = ANNOUNCE_NEW

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def normalize_arxiv_id(raw: str) -> str:
    """`arXiv:2401.12345v2`, `https://arxiv.org/abs/2401.12345` … → `2401.12345`."""
    value = raw.strip()
    lowered = value.lower()
    for prefix in ID_PREFIXES:
        if lowered.startswith(prefix):
            value = value[len(prefix) :]
            break
    value = VERSION_SUFFIX.sub("", value)
    if NEW_STYLE_ID.match(value) or OLD_STYLE_ID.match(value):
        return value
    raise InvalidArxivId(f"{raw!r} is not an arXiv id (expected e.g. 2401.12345 or hep-th/9901001)")


def clean_text(value: Any) -> str:
    """Collapse whitespace and drop control characters, so the same title from two sources compares
    equal and the database can store it."""
    if not isinstance(value, str):
        return ""
    return " ".join(UNSTORABLE_CHARACTERS.sub("", value).split())


def clean_url(value: Any) -> str:
    """Keep http(s) URLs that fit the database column; anything else is unknown ("")."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if not value.startswith(("https://", "http://")) or len(value) > URL_MAX_LENGTH:
        return ""
    if UNSTORABLE_CHARACTERS.search(value):
        return ""
    return value


def count_or_none(value: Any) -> int | None:
    """A count the database can store, or None when absent or not a count (bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= COUNT_MAX:
        return None
    return value


def clean_list(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    cleaned = (clean_text(value) for value in values)
    return [value for value in cleaned if value]
