"""The cost of scoring subscribers' `~` descriptions, `like:` examples and taste models against a
day's 1,000 papers, per planning shard, extrapolated to 1,000,000 subscribers.

    .venv/bin/python benchmarks/bench_meaning_scoring.py [--shard 20000] [--papers 1000]

What one shard of the planner does for its readers' vector lines (newsletter/digests/vectors.py and
newsletter/matching/meaning.py): decode each line's stored vector, one matrix product of the shard's
distinct lines against the papers, the cut at the thresholds, then per reader the fusion of their
lists (reciprocal rank). Taste models are scored the same way, as one (readers x 384) by (384 x
papers) product. The baseline, measured in the same run, is the straightforward way: per reader,
one matrix-vector product per line (and per taste model).

Data: the real corpus's embeddings (573 papers, from the packaged model, cached by content under
var/embedding-cache) extended to --papers by averaging random pairs; each reader has one
description (a real profile description's vector, perturbed so that every reader's is distinct),
one example paper and one taste model (weights towards three "liked" papers, as a trained model
has), the worst case for deduplication. Each stage runs the planner's own code (close_papers,
TasteScores, fuse). The
database reads (about 1.5 kB per description line) are not included: the figures are compute only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from newsletter.digests.vectors import TasteScores  # noqa: E402
from newsletter.feedback.taste import Taste  # noqa: E402
from newsletter.management.embedding_cache import EmbeddingCache  # noqa: E402
from newsletter.matching import Match, Source  # noqa: E402
from newsletter.matching.meaning import (  # noqa: E402
    EXAMPLE_THRESHOLD,
    MAX_PICKS_PER_LINE,
    MEANING_THRESHOLD,
    RankedList,
    close_papers,
    fuse,
)
from newsletter.matching.records import load_papers  # noqa: E402
from papers.embeddings import EMBEDDING_DIM, embed_texts, paper_text, vector_from_bytes, vector_to_bytes  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus"
SUBSCRIBERS = 1_000_000
TOP_K = 10
BASELINE_READERS = 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shard", type=int, default=20_000, help="Readers per shard (PLANNING_SHARD_SIZE).")
    parser.add_argument("--papers", type=int, default=1_000)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "var" / "embedding-cache")
    args = parser.parse_args()
    rng = np.random.default_rng(12)

    papers = paper_matrix(args, rng)
    descriptions = description_rows(args.shard, rng)
    stored = [vector_to_bytes(row) for row in descriptions]  # as Interest.vector holds them
    examples = papers[rng.integers(0, len(papers), args.shard)]
    tastes = {reader: taste(rng, papers) for reader in range(args.shard)}
    keyword = [rng.choice(len(papers), TOP_K, replace=False).tolist() for _ in range(args.shard)]

    bulk = time_bulk(stored, examples, tastes, papers, keyword)
    naive = (
        time_naive(stored[:BASELINE_READERS], examples, tastes, papers, keyword)
        * args.shard
        / BASELINE_READERS
    )

    shards = -(-SUBSCRIBERS // args.shard)
    print(
        f"{args.shard:,} readers per shard, each with 1 description, 1 example, 1 taste model; {len(papers):,} papers"
    )
    print(f"{'stage (one shard)':34} {'seconds':>8}")
    for stage, seconds in bulk.items():
        print(f"{stage:34} {seconds:8.3f}")
    total = sum(bulk.values())
    print(f"{'total, bulk (per shard)':34} {total:8.3f}")
    print(
        f"{'baseline, per reader (per shard)':34} {naive:8.3f}   (measured on {BASELINE_READERS:,} readers, scaled)"
    )
    print(f"speed-up: {naive / total:.1f}x")
    print(
        f"\n1,000,000 readers = {shards} shards: {shards * total:.0f} s of compute in one worker process, "
        f"{shards * total / 2:.0f} s on 2 (baseline: {shards * naive:.0f} s and {shards * naive / 2:.0f} s)"
    )
    print(
        json.dumps(
            {"shard": args.shard, "papers": len(papers), "bulk_seconds": bulk, "baseline_seconds": naive}
        )
    )


def paper_matrix(args: argparse.Namespace, rng: np.random.Generator) -> np.ndarray:
    corpus = load_papers(CORPUS / "papers.jsonl")
    real = EmbeddingCache(args.cache_dir).vectors([paper_text(p.title, p.abstract) for p in corpus])
    pairs = rng.integers(0, len(real), size=(max(0, args.papers - len(real)), 2))
    mixed = real[pairs[:, 0]] + real[pairs[:, 1]]
    matrix = np.concatenate([real, mixed])[: args.papers]
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def description_rows(count: int, rng: np.random.Generator) -> np.ndarray:
    profiles = json.loads((CORPUS / "relevance.json").read_text())["profiles"]
    real = embed_texts([text for profile in profiles for text in profile["descriptions"]])
    rows = real[rng.integers(0, len(real), count)] + rng.normal(scale=0.01, size=(count, EMBEDDING_DIM))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def taste(rng: np.random.Generator, papers: np.ndarray) -> Taste:
    """A taste model as a trained one looks: weights towards three liked papers, a negative bias."""
    liked = rng.choice(len(papers), 3, replace=False)
    weights = papers[liked].sum(axis=0) * 4 + rng.normal(scale=0.5, size=EMBEDDING_DIM)
    return Taste(
        weights=weights.astype(np.float32),
        bias=-2.0,
        liked_ids=liked.astype(np.int64),
        liked_vectors=papers[liked],
        rated_ids=frozenset(liked.tolist()),
    )


def time_bulk(stored, examples, tastes, papers, keyword) -> dict[str, float]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    lines = np.stack([vector_from_bytes(row) for row in stored] + list(examples))
    thresholds = np.array([MEANING_THRESHOLD] * len(stored) + [EXAMPLE_THRESHOLD] * len(examples), np.float32)
    seconds["decode the lines' vectors"] = time.perf_counter() - started
    started = time.perf_counter()
    close = close_papers(lines, thresholds, papers)
    seconds["lines x papers, cut"] = time.perf_counter() - started
    started = time.perf_counter()
    scores = TasteScores(tastes, np.arange(len(papers)), papers)
    seconds["taste models x papers"] = time.perf_counter() - started
    started = time.perf_counter()
    count = len(stored)
    for reader in range(count):
        lists = [*_lists(keyword[reader], close[reader][0], close[count + reader][0]), scores.picks(reader)]
        _fuse(scores, reader, lists, tastes[reader])
    seconds["per reader: taste picks, fusion"] = time.perf_counter() - started
    return seconds


def time_naive(stored, examples, tastes, papers, keyword) -> float:
    """One reader at a time: a matrix-vector product per line and per taste model (Taste.score)."""
    started = time.perf_counter()
    for reader, row in enumerate(stored):
        found = []
        for vector, threshold in (
            (vector_from_bytes(row), MEANING_THRESHOLD),
            (examples[reader], EXAMPLE_THRESHOLD),
        ):
            similarities = papers @ vector
            columns = np.flatnonzero(similarities >= threshold)
            found.append(columns[np.argsort(-similarities[columns])][:MAX_PICKS_PER_LINE])
        one = TasteScores({reader: tastes[reader]}, np.arange(len(papers)), papers)
        _fuse(one, reader, [*_lists(keyword[reader], found[0], found[1]), one.picks(reader)], tastes[reader])
    return time.perf_counter() - started


def _fuse(scores: TasteScores, reader: int, lists: list[RankedList], taste: Taste) -> list[Match]:
    return fuse(lists, top_k=TOP_K, excluded=taste.rated_ids, scale=scores.share(reader))


def _lists(keyword: list[int], described: np.ndarray, liked: np.ndarray) -> list[RankedList]:
    return [
        RankedList(Source.KEYWORD, keyword, matches=[Match(paper, 1.0, ["keywords"]) for paper in keyword]),
        RankedList(Source.MEANING, described.tolist(), line="~ description"),
        RankedList(Source.EXAMPLE, liked.tolist(), line="like:2401.12345"),
    ]


if __name__ == "__main__":
    main()
