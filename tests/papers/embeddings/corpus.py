"""Real papers of the test corpus (tests/fixtures/corpus/papers.jsonl) for the embedding tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus" / "papers.jsonl"

# Pairs on one topic (an example paper and a paper graded highly relevant for the same reader in
# relevance.json), each on a different topic from the others.
SIMILAR_PAIRS = [
    ("seed-0278", "seed-0089"),  # speculative decoding; a survey of speculative decoding
    ("seed-0413", "seed-0402"),  # scaling sparse autoencoders; feature absorption in SAEs
    ("seed-0383", "seed-0313"),  # NaturalSpeech (TTS); Make-A-Voice (voice synthesis)
    ("seed-0174", "seed-0155"),  # time-series foundation models, twice
    ("seed-0055", "seed-0046"),  # pixelNeRF; 3D editing from image prompts
]


@cache
def corpus_papers() -> dict[str, dict[str, str]]:
    with CORPUS.open(encoding="utf-8") as lines:
        return {paper["id"]: paper for paper in map(json.loads, lines)}


def embedded_pair_papers() -> dict:
    """The papers of SIMILAR_PAIRS saved and embedded, keyed by corpus id; arXiv ids 2605.00001… in order."""
    from papers.embeddings.store import papers_embed_stale
    from papers.models import Paper

    corpus = corpus_papers()
    ids = [paper_id for pair in SIMILAR_PAIRS for paper_id in pair]
    papers = {
        paper_id: Paper.objects.create(
            arxiv_id=f"2605.{n:05d}", title=corpus[paper_id]["title"], abstract=corpus[paper_id]["abstract"]
        )
        for n, paper_id in enumerate(ids, start=1)
    }
    papers_embed_stale()
    return papers
