"""Papers of the real corpus by topic, as judged in tests/fixtures/corpus/relevance.json, with their
embeddings from the packaged model (computed once per test session)."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache

import numpy as np
from django.utils import timezone

from papers.embeddings import MODEL_NAME, embed_texts, paper_text, vector_to_bytes
from papers.embeddings.store import text_hash
from papers.models import Paper, PaperEmbedding
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus"
LIKED_TOPIC, DISLIKED_TOPIC, UNRELATED_TOPIC = "3d-generation", "llm-inference", "speech-synthesis"
# The liked topic and its neighbour: papers either reader wants are not "other" papers.
NEAR_LIKED = (LIKED_TOPIC, "gaussian-splatting")
# The rest of a day's papers: neither of the three topics' nor near the liked one.
OTHERS = 40


@cache
def rows() -> dict[str, dict]:
    with (CORPUS / "papers.jsonl").open() as lines:
        return {row["id"]: row for row in map(json.loads, lines)}


@cache
def highly_relevant(topic: str) -> tuple[str, ...]:
    """The ids graded 2 (highly relevant) for the topic's reader, in file order."""
    profiles = json.loads((CORPUS / "relevance.json").read_text())["profiles"]
    [profile] = [p for p in profiles if p["id"] == topic]
    return tuple(paper_id for paper_id in rows() if profile["judgments"].get(paper_id) == 2)


@cache
def others() -> tuple[str, ...]:
    profiles = json.loads((CORPUS / "relevance.json").read_text())["profiles"]
    judged = {
        paper_id
        for p in profiles
        if p["id"] in (*NEAR_LIKED, DISLIKED_TOPIC, UNRELATED_TOPIC)
        for paper_id, grade in p["judgments"].items()
        if grade > 0
    }
    return tuple(paper_id for paper_id in rows() if paper_id not in judged)[:OTHERS]


def used_ids() -> list[str]:
    return list(
        dict.fromkeys(
            [
                *highly_relevant(LIKED_TOPIC),
                *highly_relevant(DISLIKED_TOPIC),
                *highly_relevant(UNRELATED_TOPIC),
                *others(),
            ]
        )
    )


@cache
def vectors() -> dict[str, np.ndarray]:
    """The packaged model's embedding of each paper used here."""
    ids = used_ids()
    matrix = embed_texts([paper_text(rows()[i]["title"], rows()[i]["abstract"]) for i in ids])
    return dict(zip(ids, matrix, strict=True))


def matrix(ids) -> np.ndarray:
    return np.vstack([vectors()[i] for i in ids])


def make_papers() -> dict[str, Paper]:
    """Every paper used here, saved with its embedding; corpus id -> Paper."""
    seen = timezone.now() - timedelta(hours=5)
    ids = used_ids()
    papers = Paper.objects.bulk_create(
        Paper(
            arxiv_id=f"2611.{number:05d}",
            title=rows()[corpus_id]["title"],
            abstract=rows()[corpus_id]["abstract"],
            first_seen_at=seen,
        )
        for number, corpus_id in enumerate(ids, start=1)
    )
    PaperEmbedding.objects.bulk_create(
        PaperEmbedding(
            paper=paper,
            model=MODEL_NAME,
            vector=vector_to_bytes(vectors()[corpus_id]),
            text_hash=text_hash(paper_text(paper.title, paper.abstract)),
        )
        for paper, corpus_id in zip(papers, ids, strict=True)
    )
    return dict(zip(ids, papers, strict=True))
