"""Trending papers: a reader's new papers, most upvoted first.

What a reader without interests gets, as Hugging Face's own email sends, and the "Also trending"
section of a reader with interests who asked for it. Readers who share the same candidate papers (the
planner groups them) share one order; each reader then skips what they already have.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

import numpy as np

from .records import Match, PaperRecord, Source

# The "Also trending" section: a few papers, under the reader's own picks.
ALSO_TRENDING_PAPERS = 3
# A paper nobody upvoted is not trending, however new (arXiv's listings bring many such papers).
MIN_TRENDING_UPVOTES = 1


class TrendingOrder:
    """Papers best first by upvotes, ties to the one given first (the earlier arrival for a planner)."""

    def __init__(self, papers: Sequence[PaperRecord]) -> None:
        upvotes = np.fromiter((paper.upvotes for paper in papers), dtype=np.int64, count=len(papers))
        order = np.argsort(-upvotes, kind="stable")
        order = order[upvotes[order] >= MIN_TRENDING_UPVOTES]
        self._papers = [(papers[index].id, int(upvotes[index])) for index in order.tolist()]

    def __len__(self) -> int:
        return len(self._papers)

    def pick(self, count: int, *, excluded: Sequence[Container] = ()) -> list[Match]:
        """The best `count` papers in none of `excluded` (papers the reader has or is getting)."""
        picks: list[Match] = []
        for paper_id, upvotes in self._papers:
            if len(picks) >= count:
                break
            if any(paper_id in papers for papers in excluded):
                continue
            picks.append(Match(paper_id, float(upvotes), source=Source.TRENDING))
        return picks
