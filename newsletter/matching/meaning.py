"""Matching by meaning: `~ description` and `like:ARXIV_ID` lines against the papers' embeddings, and
one reader's lists fused into one ranking.

Vectors are L2-normalised (papers.embeddings), so a dot product is the cosine similarity, and scoring
many lines against many papers is one matrix product, done in blocks of lines so memory stays
bounded whatever the number of lines. A line picks the papers whose similarity reaches its kind's
threshold, best first, at most MAX_PICKS_PER_LINE of them.

The thresholds were calibrated on the relevance set (tests/fixtures/corpus/relevance.json, 18
reader profiles judged by reading): for each kind, the similarity, on a 0.01 grid, that maximises
F1 of "picked" against "judged relevant" (grade 1 or 2) over every (profile line, corpus paper)
pair, the line's own example papers left out (benchmarks/bench_relevance.py --calibrate prints the
curve). With all-MiniLM-L6-v2: descriptions F1 0.445 at 0.48 (precision 0.42, recall 0.47),
examples F1 0.431 at 0.59.

Fusion is reciprocal rank fusion (RRF_K = 60, as in Cormack et al. and Hugging Face's paper search):
a paper's score is the sum, over the reader's ranked lists (the keyword picks as one list, each
meaning or example line as one), of 1 / (RRF_K + rank). Ranks alone are fused, so the keyword
score and the cosine never need a common scale.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Sequence
from dataclasses import dataclass, field

import numpy as np

from .records import Match, PaperId, Source

MEANING_THRESHOLD = 0.48  # a `~ description` line against a paper's title and abstract
EXAMPLE_THRESHOLD = 0.59  # a `like:` paper against another paper (two abstracts are closer than
# a short description and an abstract, so the cut is higher)
MAX_PICKS_PER_LINE = 50
RRF_K = 60
# Lines scored per matrix product: 2,048 lines x 10,000 papers of float32 is 80 MB at most.
LINE_BLOCK = 2048


def close_papers(
    lines: np.ndarray, thresholds: np.ndarray, papers: np.ndarray, *, limit: int = MAX_PICKS_PER_LINE
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per line (a row of `lines`), the columns of `papers` at or above its threshold, best first,
    with their similarities. `lines` (L, D) and `papers` (P, D) float32, rows L2-normalised."""
    found: list[tuple[np.ndarray, np.ndarray]] = []
    if not len(papers):
        return [(np.empty(0, np.int64), np.empty(0, np.float32)) for _ in range(len(lines))]
    for start in range(0, len(lines), LINE_BLOCK):
        block = lines[start : start + LINE_BLOCK] @ papers.T
        cuts = thresholds[start : start + LINE_BLOCK]
        # Every (line, paper) above its cut at once, sorted by line then best first: each line's
        # picks are then a slice, with no numpy call per line.
        rows, columns = np.nonzero(block >= cuts[:, None])
        similarities = block[rows, columns]
        order = np.lexsort((columns, -similarities, rows))
        rows, columns, similarities = rows[order], columns[order], similarities[order]
        bounds = np.searchsorted(rows, np.arange(len(cuts) + 1)).tolist()
        for first, end in itertools.pairwise(bounds):
            end = min(end, first + limit)
            found.append((columns[first:end], similarities[first:end]))
    return found


@dataclass(slots=True)
class RankedList:
    """One of a reader's ranked lists: the papers a line (or the keyword lines together) picked."""

    source: Source
    paper_ids: list[PaperId]
    line: str = ""  # the line as typed ("" for the keyword list: its Matches carry their lines)
    liked_paper_id: PaperId | None = None  # the example's paper, for "like <title>"
    liked: dict[PaperId, PaperId] = field(default_factory=dict)  # per paper, when each has its own
    matches: list[Match] = field(default_factory=list)  # the keyword list's own Matches


def fuse(lists: Sequence[RankedList], *, top_k: int, excluded: Container = ()) -> list[Match]:
    """The reader's papers from all lists, best first by reciprocal rank fusion, cut to top_k.

    Each Match names every line that picked it; its source (and liked paper) is that of the list
    that ranked it best, the keyword list winning ties (lists come keyword first)."""
    scores: dict[PaperId, float] = {}
    lines: dict[PaperId, list[str]] = {}
    best: dict[PaperId, tuple[int, RankedList]] = {}
    terms: dict[PaperId, list[str]] = {}
    for ranked in lists:
        keyword_lines = {match.paper_id: match.interests for match in ranked.matches}
        terms.update((match.paper_id, match.terms) for match in ranked.matches)
        for rank, paper_id in enumerate(ranked.paper_ids, start=1):
            if paper_id in excluded:
                continue
            scores[paper_id] = scores.get(paper_id, 0.0) + 1.0 / (RRF_K + rank)
            picked_by = lines.setdefault(paper_id, [])
            for line in keyword_lines.get(paper_id, [ranked.line]):
                if line and line not in picked_by:
                    picked_by.append(line)
            if paper_id not in best or rank < best[paper_id][0]:
                best[paper_id] = (rank, ranked)
    order = sorted(scores, key=scores.__getitem__, reverse=True)[:top_k]  # stable: ties by first seen
    return [
        Match(
            paper_id,
            scores[paper_id],
            lines[paper_id],
            list(terms.get(paper_id, ())),
            source=best[paper_id][1].source,
            liked_paper_id=best[paper_id][1].liked.get(paper_id, best[paper_id][1].liked_paper_id),
        )
        for paper_id in order
    ]
