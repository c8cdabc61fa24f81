"""The search box's `~ description` and `like:ARXIV_ID` lines: papers close in meaning, best first.

The same lines in a reader's interests pick papers at or above the cuts the matcher calibrated
(newsletter.matching.meaning), so the search shows exactly those papers, ranked by similarity. It looks
at the papers the "Similar papers" section compares with (papers.embeddings.similar: the most recent
SIMILAR_WINDOW embedded papers, one matrix per process), so a search costs one matrix product
whatever the table's size; a paper older than that window is found by its words, not its meaning.
"""

from __future__ import annotations

import numpy as np

from newsletter.matching import InterestSyntaxError, Match
from newsletter.matching.lines import EXAMPLE_PREFIX, Line
from newsletter.matching.meaning import EXAMPLE_THRESHOLD, MEANING_THRESHOLD
from newsletter.matching.records import Source
from papers import selectors
from papers.embeddings import embed_texts
from papers.embeddings.similar import SIMILAR_WINDOW, nearest_recent, stored_vector


def meaning_matches(line: Line, *, limit: int | None) -> tuple[list[Match], int, int]:
    """(matches best first, how many papers reach the cut, how many were compared) for a `~` or
    `like:` line. InterestSyntaxError, naming the id, for a `like:` paper we do not have."""
    if line.kind is Source.MEANING:
        vector, cut, example_id = embed_texts([line.description])[0], MEANING_THRESHOLD, None
    else:
        vector, example_id = _example_vector(line)
        cut = EXAMPLE_THRESHOLD
    nearest = nearest_recent(
        vector, limit=SIMILAR_WINDOW if limit is None else limit, min_similarity=cut, exclude_id=example_id
    )
    matches = [
        Match(
            paper_id=paper_id, score=score, interests=[line.text], source=line.kind, liked_paper_id=example_id
        )
        for paper_id, score in nearest.found
    ]
    return matches, nearest.above, nearest.window


def _example_vector(line: Line) -> tuple[np.ndarray, int]:
    paper = selectors.paper_get(arxiv_id=line.arxiv_id)
    position = len(EXAMPLE_PREFIX)
    if paper is None:
        raise InterestSyntaxError(f"there is no paper {line.arxiv_id} on Paperbox yet", position)
    vector = stored_vector(paper)
    if vector is None:
        raise InterestSyntaxError(
            f"paper {line.arxiv_id} is not indexed by meaning yet (new papers are, within the hour)", position
        )
    return vector, paper.pk
