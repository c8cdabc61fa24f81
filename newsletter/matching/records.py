"""Plain data in and out of matching: no ORM here, callers convert their rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

PaperId = int | str


@dataclass(slots=True)
class PaperRecord:
    id: PaperId
    title: str
    abstract: str
    authors: Sequence[str] = ()
    ai_keywords: Sequence[str] = ()
    upvotes: int = 0
    published: dt.date | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaperRecord:
        """One JSON-lines record: `id`, `title`, `abstract`, optional `authors`, `ai_keywords`,
        `upvotes`, `published` (ISO date or datetime)."""
        return cls(
            id=data["id"],
            title=data.get("title") or "",
            abstract=data.get("abstract") or "",
            authors=list(data.get("authors") or ()),
            ai_keywords=list(data.get("ai_keywords") or ()),
            upvotes=int(data.get("upvotes") or 0),
            published=_parse_date(data.get("published")),
        )


def _parse_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    # "2026-05-08" and "2026-05-08T10:00:00.000Z" both start with the date.
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(slots=True)
class SubscriberRecord:
    id: int
    interests: list[str]
    top_k: int = 10


class Source(StrEnum):
    """How a paper was picked for a reader: what the digest says under it, and how it is grouped."""

    KEYWORD = "keyword"  # a keyword line matched its words
    MEANING = "meaning"  # close to a `~ description` line
    EXAMPLE = "example"  # close to a `like:ARXIV_ID` line's paper
    TASTE = "taste"  # the reader's ratings: close to a paper they liked
    TRENDING = "trending"  # among the most upvoted of the period


@dataclass(slots=True)
class Match:
    """One paper for one reader: why it was picked, for the digest's "why you are seeing this" line."""

    paper_id: PaperId
    score: float
    interests: list[str] = field(default_factory=list)  # as the subscriber typed them
    terms: list[str] = field(default_factory=list)  # words as written in the paper, for highlighting
    source: Source = Source.KEYWORD
    # The paper the pick is close to ("like <title>", "because you liked <title>"), for those sources.
    liked_paper_id: PaperId | None = None


def load_papers(path: str | Path) -> list[PaperRecord]:
    """Papers from a JSON-lines file, one `PaperRecord.from_dict` record per line."""
    with open(path, encoding="utf-8") as lines:
        return [PaperRecord.from_dict(json.loads(line)) for line in lines if line.strip()]
