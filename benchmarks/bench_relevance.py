"""Offline relevance of interest matching on the judged corpus: nDCG@10 and precision@10.

    .venv/bin/python benchmarks/bench_relevance.py [--cache-dir DIR] [--calibrate] [--per-profile]

The 573 papers of tests/fixtures/corpus/papers.jsonl and the 18 reader profiles of relevance.json
(judged by reading; tests/fixtures/corpus/RELEVANCE.md says how). Each profile is ranked four ways,
as a digest ranks it (newsletter.matching.profile.rank_profile, the code match_papers runs): its
keyword lines alone, its descriptions (`~` lines) alone, its example papers (`like:`) alone, and all
of them together. As RELEVANCE.md asks, the examples are never part of a ranking, the grade is the
gain of nDCG, grades 1 and 2 count as relevant for precision, and unjudged papers count as 0. A
ranking shorter than 10 (a keyword line that matches 4 papers) is scored as it is: the missing
places count as irrelevant.

--calibrate prints, for descriptions and for examples, precision, recall and F1 of "similarity at or
above t" against "judged relevant" over every (profile line, corpus paper) pair, and the t with the
best F1: how newsletter/matching/meaning.py's thresholds were chosen.

Papers are embedded with the packaged model once and cached by content (--cache-dir, default
var/embedding-cache; match_papers --text-file shares it).
"""

from __future__ import annotations

import argparse
import json
import math
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

from newsletter.management.embedding_cache import EmbeddingCache  # noqa: E402
from newsletter.matching import meaning  # noqa: E402
from newsletter.matching.profile import Profile, rank_profile  # noqa: E402
from newsletter.matching.records import load_papers  # noqa: E402
from papers.embeddings import embed_texts, paper_text  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus"
K = 10
METHODS = ("keyword lines", "descriptions", "examples", "all together")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "var" / "embedding-cache")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--per-profile", action="store_true")
    args = parser.parse_args()

    papers = load_papers(CORPUS / "papers.jsonl")
    profiles = json.loads((CORPUS / "relevance.json").read_text())["profiles"]
    started = time.perf_counter()
    cache = EmbeddingCache(args.cache_dir)
    vectors = cache.vectors([paper_text(paper.title, paper.abstract) for paper in papers])
    print(
        f"{len(papers)} papers, {len(profiles)} profiles; embedded {cache.computed} papers "
        f"({len(papers) - cache.computed} cached) in {time.perf_counter() - started:.1f} s\n"
    )
    row_of = {paper.id: n for n, paper in enumerate(papers)}
    descriptions = {
        text: vector for profile in profiles for text, vector in _embedded(profile["descriptions"])
    }

    if args.calibrate:
        calibrate(profiles, papers, vectors, row_of, descriptions)

    totals = {method: [0.0, 0.0] for method in METHODS}
    for profile in profiles:
        grades = {paper_id: grade for paper_id, grade in profile["judgments"].items()}
        scores = []
        for method in METHODS:
            reader = _profile(profile, method, vectors, row_of, descriptions)
            # The examples are the reader's liked papers: left out of every ranking, whatever the method.
            examples = set(profile["examples"])
            ranked = [
                m.paper_id for m in rank_profile(reader, papers, vectors) if m.paper_id not in examples
            ][:K]
            scores.append((ndcg(ranked, grades, set(profile["examples"])), precision(ranked, grades)))
            totals[method][0] += scores[-1][0]
            totals[method][1] += scores[-1][1]
        if args.per_profile:
            cells = "  ".join(f"{n:.3f} {p:.2f}" for n, p in scores)
            print(f"{profile['id']:32} {cells}")
    if args.per_profile:
        print()
    print(f"{'method':16} {'nDCG@10':>8} {'P@10':>6}")
    for method, (total_ndcg, total_precision) in totals.items():
        print(f"{method:16} {total_ndcg / len(profiles):8.3f} {total_precision / len(profiles):6.3f}")
    print(
        f"\nthresholds: description {meaning.MEANING_THRESHOLD:.2f}, example {meaning.EXAMPLE_THRESHOLD:.2f}; "
        f"fusion: reciprocal rank, k = {meaning.RRF_K}"
    )


def _embedded(texts: list[str]) -> list[tuple[str, np.ndarray]]:
    return list(zip(texts, embed_texts(texts), strict=True)) if texts else []


def _profile(profile: dict, method: str, vectors: np.ndarray, row_of: dict, descriptions: dict) -> Profile:
    everything = method == "all together"
    reader = Profile()
    if everything or method == "keyword lines":
        reader.keyword_lines = list(profile["keyword_lines"])
    if everything or method == "descriptions":
        reader.descriptions = [(f"~ {text}", descriptions[text]) for text in profile["descriptions"]]
    if everything or method == "examples":
        reader.examples = [(f"like:{ref}", ref, vectors[row_of[ref]]) for ref in profile["examples"]]
    return reader


def ndcg(ranked: list[str], grades: dict[str, int], examples: set[str]) -> float:
    gains = [grades.get(paper_id, 0) for paper_id in ranked[:K]]
    ideal = sorted((grade for paper_id, grade in grades.items() if paper_id not in examples), reverse=True)[
        :K
    ]
    best = _dcg(ideal)
    return _dcg(gains) / best if best else 0.0


def _dcg(gains: list[int]) -> float:
    return sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))


def precision(ranked: list[str], grades: dict[str, int]) -> float:
    return sum(1 for paper_id in ranked[:K] if grades.get(paper_id, 0) >= 1) / K


def calibrate(
    profiles: list[dict], papers: list, vectors: np.ndarray, row_of: dict, descriptions: dict
) -> None:
    """F1 of each threshold over every (line, paper) pair, for descriptions and for examples."""
    ids = [paper.id for paper in papers]
    for kind in ("description", "example"):
        similarities, relevant = [], []
        for profile in profiles:
            examples = set(profile["examples"])
            lines = (
                [descriptions[text] for text in profile["descriptions"]]
                if kind == "description"
                else [vectors[row_of[ref]] for ref in profile["examples"]]
            )
            labels = np.array([profile["judgments"].get(paper_id, 0) >= 1 for paper_id in ids])
            keep = np.array([paper_id not in examples for paper_id in ids])
            for line in lines:
                similarities.append((vectors @ line)[keep])
                relevant.append(labels[keep])
        sims, labels = np.concatenate(similarities), np.concatenate(relevant)
        print(f"{kind} lines: {len(sims)} (line, paper) pairs, {int(labels.sum())} judged relevant")
        print(f"  {'t':>5} {'picked':>7} {'precision':>9} {'recall':>6} {'F1':>6}")
        best = (0.0, 0.0)
        for threshold in np.arange(0.20, 0.81, 0.01):
            picked = sims >= threshold
            hits = int((picked & labels).sum())
            p = hits / picked.sum() if picked.sum() else 0.0
            r = hits / labels.sum()
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            best = max(best, (f1, float(threshold)))
            if round(threshold * 100) % 5 == 0:
                print(f"  {threshold:5.2f} {int(picked.sum()):7d} {p:9.3f} {r:6.3f} {f1:6.3f}")
        print(f"  best F1 {best[0]:.3f} at t = {best[1]:.2f}\n")


if __name__ == "__main__":
    main()
