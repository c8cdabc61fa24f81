"""One reader's profile (keyword lines, descriptions, example papers) ranked against a set of papers
whose embeddings are given: what `match_papers` prints and what benchmarks/bench_relevance.py scores.

The same steps as a digest's planning (keyword matching, then meaning.close_papers per vector line,
then meaning.fuse), for one reader and without a cut unless asked; pure, so the vectors come from
the caller (the database's embeddings, or a file's, embedded and cached by the command).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .meaning import EXAMPLE_THRESHOLD, MEANING_THRESHOLD, RankedList, close_papers, fuse
from .plan import match_papers
from .records import Match, PaperId, PaperRecord, Source


@dataclass
class Profile:
    keyword_lines: list[str] = field(default_factory=list)
    descriptions: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (line as typed, vector)
    examples: list[tuple[str, PaperId, np.ndarray]] = field(default_factory=list)  # (line, paper, vector)

    @property
    def by_meaning(self) -> bool:
        return bool(self.descriptions or self.examples)


def rank_profile(
    profile: Profile,
    papers: list[PaperRecord],
    vectors: np.ndarray,
    *,
    top_k: int | None = None,
    today: dt.date | None = None,
) -> list[Match]:
    """The profile's papers, best first. `vectors` holds one row per paper of `papers`, in order (a
    zero row for a paper without an embedding: it is then close to nothing). Keyword lines alone keep
    the keyword score; with any description or example, the lists are fused by reciprocal rank. An
    example paper is never among the results."""
    keyword = match_papers(profile.keyword_lines, papers, today=today) if profile.keyword_lines else []
    if not profile.by_meaning:
        return keyword[:top_k]
    ids = [paper.id for paper in papers]
    lists = [RankedList(Source.KEYWORD, [match.paper_id for match in keyword], matches=keyword)]
    kinds = [(Source.MEANING, line, None, vector) for line, vector in profile.descriptions]
    kinds += [(Source.EXAMPLE, line, paper_id, vector) for line, paper_id, vector in profile.examples]
    thresholds = np.array(
        [MEANING_THRESHOLD if kind == Source.MEANING else EXAMPLE_THRESHOLD for kind, *_ in kinds], np.float32
    )
    line_matrix = np.stack([vector for *_, vector in kinds]).astype(np.float32)
    for (kind, line, liked, _), (columns, _) in zip(
        kinds, close_papers(line_matrix, thresholds, vectors), strict=True
    ):
        lists.append(RankedList(kind, [ids[c] for c in columns.tolist()], line=line, liked_paper_id=liked))
    liked = {paper_id for _, paper_id, _ in profile.examples}
    return fuse(lists, top_k=top_k or len(papers), excluded=liked)
