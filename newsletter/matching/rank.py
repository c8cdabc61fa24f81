"""How matched papers are ordered for one reader.

score = relevance * popularity * freshness, where relevance sums, over the reader's matched
interests, the weight of the best field each matched in (title/author 3, abstract 2, keywords 1):
more matched interests and better places both raise it. Popularity grows with log(1 + upvotes);
freshness halves every week of age. Ties go to the paper given first.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from .records import PaperRecord

UPVOTE_WEIGHT = 0.25
HALF_LIFE_DAYS = 7.0


def paper_factor(paper: PaperRecord, today: dt.date) -> float:
    """Popularity times freshness; a paper without a date counts as published today."""
    age = 0 if paper.published is None else max(0, (today - paper.published).days)
    return (1.0 + UPVOTE_WEIGHT * math.log1p(max(0, paper.upvotes))) * 0.5 ** (age / HALF_LIFE_DAYS)


def paper_factors(papers: list[PaperRecord], today: dt.date) -> np.ndarray:
    return np.array([paper_factor(p, today) for p in papers], dtype=np.float64)


def score(relevance: int, factor: float) -> float:
    """The one formula; the engine computes the same product with numpy float64."""
    return float(relevance) * factor


def rank_table(relevances: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """rank[r, p]: position of (relevance r, paper p) in best-first order, ties to the lower paper index.

    Any two entries of one reader's row differ in paper, so their ranks differ: ordering by this
    integer is exact, with no float tie left to chance. Only relevance values in `relevances` are filled.
    """
    n_papers = len(factors)
    table = np.zeros((int(relevances.max(initial=0)) + 1, n_papers), dtype=np.int64)
    scores = relevances.astype(np.float64)[:, None] * factors[None, :]
    paper_index = np.broadcast_to(np.arange(n_papers), scores.shape)
    order = np.lexsort((paper_index.ravel(), -scores.ravel()))
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = np.arange(order.size)
    table[relevances] = ranks.reshape(scores.shape)
    return table
