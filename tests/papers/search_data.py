"""A search test set on real text: the 37-paper Hugging Face capture and the 573-paper corpus.

The capture (tests/fixtures/hf/) brings real authors, AI keywords, upvotes and its featured day. The
corpus (tests/fixtures/corpus/) has titles and abstracts only: its papers get SYNTHETIC upvotes,
days (featured ones and arXiv-only ones) and authors from a small pool, deterministic by position.
A few hand-written papers add what neither has: accents, a compound written two ways.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from newsletter.matching import PaperRecord
from papers.models import Paper
from papers.services import papers_ingest, papers_refresh_search_terms
from papers.sources.hf_api import parse_daily_papers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TODAY = dt.date(2026, 5, 8)
AUTHORS = ["Zoë Müller", "José García", "Ada Lovelace", "Wei Zhang", "Priya Patel", "Lars Ek/Team"]
HANDWRITTEN = [
    {
        "title": "Naïve Bayes for café reviews",
        "abstract": "A naïve baseline that beats LLMs on café reviews.",
    },
    {"title": "Naive baselines", "abstract": "Naive methods, no accents; self supervised as two words."},
    {"title": "Pokémon agents", "abstract": "Self-supervised world models control Pokémon agents."},
]


def load_search_papers() -> None:
    """Write the test set through the real ingest, then index it for search as a fetch does."""
    body = (FIXTURES / "hf" / "daily_papers_2026-05-08.json").read_bytes()
    papers_ingest(records=parse_daily_papers(body, url="fixture"), source="hf-api")
    rows = [json.loads(line) for line in (FIXTURES / "corpus" / "papers.jsonl").open(encoding="utf-8")]
    Paper.objects.bulk_create(_synthetic(number, row) for number, row in enumerate([*rows, *HANDWRITTEN]))
    papers_refresh_search_terms()


def _synthetic(number: int, row: dict) -> Paper:
    day = TODAY - dt.timedelta(days=number % 40)
    featured = number % 3 != 0  # a third are arXiv-only papers
    return Paper(
        arxiv_id=f"2604.{number:05d}",
        title=row["title"],
        abstract=row["abstract"],
        authors=[AUTHORS[number % len(AUTHORS)], AUTHORS[(number * 7 + 1) % len(AUTHORS)]],
        upvotes=(number * 37) % 211 if featured else 0,
        featured_on=day if featured else None,
        published_at=dt.datetime.combine(day - dt.timedelta(days=2), dt.time(9), tzinfo=dt.UTC),
    )


def expected_records() -> list[PaperRecord]:
    """The engine's records of every paper, in id order, built here from the rows themselves (not
    with papers.records, so the search is held to the engine, not to its own helpers)."""
    return [
        PaperRecord(
            id=paper.id,
            title=paper.title,
            abstract=paper.abstract,
            authors=paper.authors,
            ai_keywords=paper.ai_keywords,
            upvotes=paper.upvotes,
            published=paper.featured_on or (paper.published_at.date() if paper.published_at else None),
        )
        for paper in Paper.objects.order_by("id")
    ]
