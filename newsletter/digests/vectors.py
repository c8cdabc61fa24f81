"""Planning by meaning, for one group of a shard: the readers' `~` and `like:` lines and their taste
models (newsletter.feedback.taste, learnt from their ratings) against the group's candidate papers,
fused with their keyword picks (matching.meaning).

Per group, the cost is two matrix products: the distinct lines of the group's readers (descriptions
by text, examples by paper), then their taste models' weights, times the candidate papers'
embeddings. A taste re-ranks: it adds the papers it likes as one more list ("because you liked
<title>"), lowers the picks it dislikes, and a paper the reader rated is never picked again. The candidates' matrix is kept
per process for the next shard of the run (RecentMatrices, as RecentIndexes keeps the word index).
Papers not embedded yet are simply not candidates by meaning (the keyword lines still see them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Container

import numpy as np

from newsletter.digests.selectors import CompiledInterests, PaperRow, SubscriberRow, VectorLine
from newsletter.feedback.taste import Taste, load_tastes
from newsletter.matching import Match, Source
from newsletter.matching.meaning import (
    EXAMPLE_THRESHOLD,
    MAX_PICKS_PER_LINE,
    MEANING_THRESHOLD,
    RankedList,
    close_papers,
    fuse,
)
from papers.embeddings import EMBEDDING_DIM, paper_vectors, vector_from_bytes


class RecentMatrices:
    """The last few candidate matrices this process loaded, by the papers' ids and versions.

    A matrix is kept only when every candidate had an embedding: one still being embedded would
    otherwise stay invisible to the rest of the run's shards in this process.
    """

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._matrices: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def get(self, rows: list[PaperRow]) -> tuple[np.ndarray, np.ndarray]:
        """(paper ids, matrix (n, EMBEDDING_DIM)) of the candidates that have an embedding."""
        key = tuple((row.id, row.updated_at) for row in rows)
        with self._lock:
            known = self._matrices.get(key)
            if known is not None:
                self._matrices.move_to_end(key)
                return known
        known = paper_vectors([row.id for row in rows])
        if len(known[0]) == len(rows):
            with self._lock:
                self._matrices[key] = known
                while len(self._matrices) > self._size:
                    self._matrices.popitem(last=False)
        return known


RECENT_MATRICES = RecentMatrices()
# A pick the reader's taste model scores below zero keeps this share of its fused score.
DISLIKED_SHARE = 0.5


class LineVectors:
    """The distinct vector lines of some readers, as one matrix with each row's threshold."""

    def __init__(self, lines: list[VectorLine]) -> None:
        self.row_of: dict[tuple, int] = {}
        descriptions: list[np.ndarray] = []
        examples: list[int] = []
        for line in lines:
            key = _line_key(line)
            if key is None or key in self.row_of:
                continue
            self.row_of[key] = len(self.row_of)
            if line.kind == Source.MEANING:
                descriptions.append(vector_from_bytes(line.vector))
            else:
                examples.append(line.example_id)
        example_ids, example_matrix = paper_vectors(examples) if examples else (np.empty(0, np.int64), None)
        example_row = {int(paper_id): n for n, paper_id in enumerate(example_ids.tolist())}
        # Rows in row_of order: descriptions and examples interleaved as first seen.
        matrix = np.zeros((len(self.row_of), EMBEDDING_DIM), dtype=np.float32)
        thresholds = np.full(
            len(self.row_of), np.inf, dtype=np.float32
        )  # an example not embedded picks nothing
        described = iter(descriptions)
        for key, row in self.row_of.items():
            if key[0] == Source.MEANING:
                matrix[row], thresholds[row] = next(described), MEANING_THRESHOLD
            elif key[1] in example_row:
                matrix[row], thresholds[row] = example_matrix[example_row[key[1]]], EXAMPLE_THRESHOLD
        self.matrix, self.thresholds = matrix, thresholds

    def row(self, line: VectorLine) -> int | None:
        key = _line_key(line)
        return None if key is None else self.row_of.get(key)


def _line_key(line: VectorLine) -> tuple | None:
    if line.kind == Source.MEANING:
        return (Source.MEANING, line.text) if line.vector is not None else None
    return (Source.EXAMPLE, line.example_id) if line.example_id is not None else None


def fuse_by_meaning(
    rows: list[SubscriberRow],
    candidates: list[PaperRow],
    *,
    interests: CompiledInterests,
    held: dict[int, set[int]],
    matches: dict[int, list[Match]],
) -> None:
    """For the readers (with interests) who have vector lines or a taste model: their keyword picks
    replaced by the fusion of those, their vector lines' picks and their taste's picks."""
    tastes = load_tastes([row.id for row in rows])
    rows = [row for row in rows if interests.vector_lines.get(row.id) or row.id in tastes]
    if not rows:
        return
    lines = LineVectors([line for row in rows for line in interests.vector_lines.get(row.id, ())])
    paper_ids, paper_matrix = RECENT_MATRICES.get(candidates)
    close = close_papers(lines.matrix, lines.thresholds, paper_matrix)
    tasted = TasteScores(tastes, paper_ids, paper_matrix)
    ids = paper_ids.tolist()
    nothing: set[int] = set()
    for row in rows:
        keyword = matches.get(row.id, [])
        ranked = [RankedList(Source.KEYWORD, [m.paper_id for m in keyword], matches=keyword)]
        for line in interests.vector_lines.get(row.id, ()):
            at = lines.row(line)
            if at is not None:
                picked = [ids[column] for column in close[at][0].tolist() if ids[column] != line.example_id]
                ranked.append(
                    RankedList(Source(line.kind), picked, line=line.text, liked_paper_id=line.example_id)
                )
        taste = tastes.get(row.id)
        excluded: Container = held.get(row.id, nothing)
        if taste is not None:
            ranked.append(tasted.picks(row.id))
            excluded = _Either(excluded, taste.rated_ids)  # a rated paper is never offered again
        fused = fuse(ranked, top_k=row.papers_per_digest, excluded=excluded, scale=tasted.share(row.id))
        if fused:
            matches[row.id] = fused
        else:
            matches.pop(row.id, None)


class TasteScores:
    """The taste models of a group's readers against its papers, as one matrix product (the
    decision value of newsletter.feedback.taste.Taste.score, for every reader at once)."""

    def __init__(self, tastes: dict[int, Taste], paper_ids: np.ndarray, papers: np.ndarray) -> None:
        self._tastes = tastes
        self._papers = papers
        self._ids = paper_ids.tolist()
        self._column_of = {paper_id: n for n, paper_id in enumerate(self._ids)}
        self._reader_of = {subscriber_id: n for n, subscriber_id in enumerate(tastes)}
        if tastes:
            weights = np.stack([taste.weights for taste in tastes.values()])
            biases = np.array([taste.bias for taste in tastes.values()], dtype=np.float32)
            # One row per reader, so that reading a reader's decisions is a contiguous slice.
            self._decisions = weights @ papers.T + biases[:, None]
        else:
            self._decisions = np.empty((0, len(self._ids)), dtype=np.float32)

    def picks(self, subscriber_id: int) -> RankedList:
        """The papers the model likes (decision above zero), best first, each with the liked paper
        closest to it: "because you liked <title>"."""
        taste = self._tastes[subscriber_id]
        decisions = self._decisions[self._reader_of[subscriber_id]]
        columns = np.flatnonzero(decisions > 0)
        if len(columns) > MAX_PICKS_PER_LINE:
            columns = columns[np.argpartition(-decisions[columns], MAX_PICKS_PER_LINE)[:MAX_PICKS_PER_LINE]]
        columns = columns[np.argsort(-decisions[columns], kind="stable")]
        liked: dict[int, int] = {}
        if len(columns) and len(taste.liked_ids):
            nearest = np.argmax(taste.liked_vectors @ self._papers[columns].T, axis=0)
            liked = {
                self._ids[c]: int(taste.liked_ids[n])
                for c, n in zip(columns.tolist(), nearest.tolist(), strict=True)
            }
        return RankedList(Source.TASTE, [self._ids[c] for c in columns.tolist()], liked=liked)

    def share(self, subscriber_id: int) -> Callable[[int], float] | None:
        """What each pick keeps of its score: DISLIKED_SHARE where the model's decision is below zero
        (papers like the ones the reader rated "less like this" sink, without hiding what their lines
        ask for), all of it elsewhere; None for a reader without a model."""
        if subscriber_id not in self._reader_of:
            return None
        decisions = self._decisions[self._reader_of[subscriber_id]]
        column_of = self._column_of

        def share(paper_id: int) -> float:
            column = column_of.get(paper_id)
            return DISLIKED_SHARE if column is not None and decisions[column] < 0 else 1.0

        return share


class _Either:
    """Membership in either of two sets, without building their union for every reader."""

    def __init__(self, first: Container, second: Container) -> None:
        self._first, self._second = first, second

    def __contains__(self, item: object) -> bool:
        return item in self._first or item in self._second
