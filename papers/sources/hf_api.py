"""Hugging Face Daily Papers JSON API: `GET /api/daily_papers?date=YYYY-MM-DD`.

The response is a list of entries `{"paper": {...}, "numComments": …, "thumbnail": …}`. The
Daily Papers page embeds the same entries, so `entry_to_record` serves both parsers.
Real-data facts: upvotes live in `paper.upvotes`; `paper.submittedOnDailyAt` is the featured day;
`paper.publishedAt` is the arXiv publication (the top-level `publishedAt` is something else).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from papers.sources.decoding import decode_utf8, iso_datetime, iso_day, load_json
from papers.sources.errors import InvalidArxivId, ParseError
from papers.sources.records import (
    PaperRecord,
    clean_list,
    clean_text,
    clean_url,
    count_or_none,
    normalize_arxiv_id,
)

SOURCE = "hf-api"


def api_url(*, base_url: str, day: date) -> str:
    return f"{base_url}/api/daily_papers?date={day.isoformat()}"


def parse_daily_papers(body: bytes, *, url: str, category: str | None = None) -> list[PaperRecord]:
    """All papers of one API response; an empty list is a day without papers.

    `category` is accepted for a uniform parser signature; Hugging Face has no categories.
    """
    data = load_json(decode_utf8(body, url=url), url=url, what="response")
    if not isinstance(data, list):
        raise ParseError(url, f"expected a JSON list of daily-paper entries, got a JSON {_json_type(data)}")
    return entries_to_records(data, url=url, source=SOURCE)


def entries_to_records(entries: list[Any], *, url: str, source: str) -> list[PaperRecord]:
    return [entry_to_record(entry, url=url, source=source, position=i) for i, entry in enumerate(entries)]


def entry_to_record(entry: Any, *, url: str, source: str, position: int) -> PaperRecord:
    paper = entry.get("paper") if isinstance(entry, dict) else None
    if not isinstance(paper, dict):
        raise ParseError(url, f"entry {position}: expected an object with a 'paper' object")
    arxiv_id = _arxiv_id(paper, url=url, position=position)
    title = clean_text(paper.get("title")) or clean_text(entry.get("title"))
    if not title:
        raise ParseError(url, f"entry {position} ({arxiv_id}): paper.title is missing or empty")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        source=source,
        abstract=clean_text(paper.get("summary")) or clean_text(entry.get("summary")),
        authors=_author_names(paper.get("authors")),
        published_at=iso_datetime(paper.get("publishedAt")),
        featured_on=iso_day(paper.get("submittedOnDailyAt")),
        upvotes=count_or_none(paper.get("upvotes")),
        comment_count=count_or_none(entry.get("numComments")),
        github_repo=clean_url(paper.get("githubRepo")),
        github_stars=count_or_none(paper.get("githubStars")),
        project_page=clean_url(paper.get("projectPage")),
        thumbnail=clean_url(entry.get("thumbnail")),
        ai_summary=clean_text(paper.get("ai_summary")),
        ai_keywords=clean_list(paper.get("ai_keywords")),
    )


def _arxiv_id(paper: dict[str, Any], *, url: str, position: int) -> str:
    raw = paper.get("id")
    if not isinstance(raw, str) or not raw.strip():
        raise ParseError(url, f"entry {position}: paper.id is missing")
    try:
        return normalize_arxiv_id(raw)
    except InvalidArxivId:
        raise ParseError(url, f"entry {position}: paper.id {raw!r} is not an arXiv id") from None


def _author_names(authors: Any) -> list[str]:
    if not isinstance(authors, list):
        return []
    names = (clean_text(author.get("name")) for author in authors if isinstance(author, dict))
    return [name for name in names if name]


def _json_type(value: Any) -> str:
    return {dict: "object", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
