"""Real corpus papers with the relevance set's judgments, for the tests of matching by meaning.

Papers get arXiv ids made from their corpus ids (seed-0053 is 2611.00053), so a test can name an
example paper both ways; they are embedded with the packaged model (papers' own service).
"""

from __future__ import annotations

import json
from datetime import datetime

from papers.embeddings.store import papers_embed_stale
from papers.models import Paper
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus" / "papers.jsonl"
RELEVANCE = FIXTURES / "corpus" / "relevance.json"


def corpus_rows(limit: int) -> list[dict]:
    with CORPUS.open() as lines:
        return [json.loads(line) for _, line in zip(range(limit), lines, strict=False)]


def arxiv_id(seed_id: str) -> str:
    return f"2611.{int(seed_id.removeprefix('seed-')):05d}"


def profile(name: str) -> dict:
    return next(p for p in json.loads(RELEVANCE.read_text())["profiles"] if p["id"] == name)


def relevant_arxiv_ids(name: str) -> set[str]:
    """The papers judged relevant (grade 1 or 2) for that profile and its example papers (the ones
    its reader said they liked, not judged), by arXiv id."""
    judged = profile(name)
    relevant = {seed for seed, grade in judged["judgments"].items() if grade >= 1} | set(judged["examples"])
    return {arxiv_id(seed) for seed in relevant}


def make_embedded_papers(*, limit: int, first_seen_at: datetime) -> dict[str, Paper]:
    """The first `limit` corpus papers, stored and embedded; by arXiv id."""
    Paper.objects.bulk_create(
        Paper(
            arxiv_id=arxiv_id(row["id"]),
            title=row["title"],
            abstract=row["abstract"],
            upvotes=number % 30,
            published_at=first_seen_at,
            first_seen_at=first_seen_at,
        )
        for number, row in enumerate(corpus_rows(limit))
    )
    papers_embed_stale()
    return {paper.arxiv_id: paper for paper in Paper.objects.all()}
