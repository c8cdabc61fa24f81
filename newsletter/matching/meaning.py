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

import heapq
import itertools
from collections.abc import Callable, Container, Sequence
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


def fuse(
    lists: Sequence[RankedList],
    *,
    top_k: int,
    excluded: Container = (),
    scale: Callable[[PaperId], float] | None = None,
) -> list[Match]:
    """The reader's papers from all lists, best first by reciprocal rank fusion, cut to top_k.

    `scale`, when given, multiplies each paper's fused score before the cut, by at most 1 (a taste
    model lowering what it dislikes). Each Match names every line that picked it; its source (and liked paper) is
    that of the list that ranked it best, the keyword list winning ties (lists come keyword first).
    Only the kept papers are turned into Matches: a planner fuses a few hundred thousand readers."""
    scores: dict[PaperId, float] = {}
    best: dict[PaperId, tuple[int, int]] = {}  # paper -> (best rank, its list)
    members: dict[PaperId, list[int]] = {}  # paper -> the lists that have it
    for index, ranked in enumerate(lists):
        for rank, paper_id in enumerate(ranked.paper_ids, start=1):
            if paper_id in excluded:
                continue
            known = scores.get(paper_id)
            if known is None:
                scores[paper_id] = 1.0 / (RRF_K + rank)
                best[paper_id] = (rank, index)
                members[paper_id] = [index]
            else:
                scores[paper_id] = known + 1.0 / (RRF_K + rank)
                members[paper_id].append(index)
                if rank < best[paper_id][0]:
                    best[paper_id] = (rank, index)
    order = sorted(scores, key=scores.__getitem__, reverse=True)  # stable: ties by first seen
    order = order[:top_k] if scale is None else _scaled_top(order, scores, scale, top_k)
    return [
        _fused_match(
            paper_id, scores[paper_id], [lists[i] for i in members[paper_id]], lists[best[paper_id][1]]
        )
        for paper_id in order
    ]


def _scaled_top(
    order: list[PaperId], scores: dict[PaperId, float], scale: Callable[[PaperId], float], top_k: int
) -> list[PaperId]:
    """The top_k of `order` by scaled score (scores updated). A scale never exceeds 1, so once a
    paper's unscaled score is below the k-th best scaled one, no later paper can enter: only the
    head of the order is scaled."""
    kept: list[tuple[float, int, PaperId]] = []  # a min-heap of (scaled score, -position, paper)
    for position, paper_id in enumerate(order):
        if len(kept) == top_k and scores[paper_id] < kept[0][0]:
            break
        item = (scores[paper_id] * scale(paper_id), -position, paper_id)
        if len(kept) < top_k:
            heapq.heappush(kept, item)
        elif item > kept[0]:
            heapq.heapreplace(kept, item)
    kept.sort(reverse=True)  # best first, ties to the earlier position
    for score, _, paper_id in kept:
        scores[paper_id] = score
    return [paper_id for _, _, paper_id in kept]


def _fused_match(paper_id: PaperId, score: float, picked_by: list[RankedList], best: RankedList) -> Match:
    lines: list[str] = []
    terms: list[str] = []
    for ranked in picked_by:
        if ranked.matches:  # the keyword list: the lines and words of its own Match
            match = next(match for match in ranked.matches if match.paper_id == paper_id)
            lines.extend(match.interests)
            terms = list(match.terms)
        elif ranked.line:
            lines.append(ranked.line)
    return Match(
        paper_id,
        score,
        list(dict.fromkeys(lines)),
        terms,
        source=best.source,
        liked_paper_id=best.liked.get(paper_id, best.liked_paper_id),
    )
