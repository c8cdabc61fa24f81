"""Planning by meaning, for one group of a shard: the readers' `~` and `like:` lines against the
group's candidate papers, fused with their keyword picks (matching.meaning).

Per group, the cost is one matrix product: the distinct lines of the group's readers (descriptions
by text, examples by paper) times the candidate papers' embeddings. The candidates' matrix is kept
per process for the next shard of the run (RecentMatrices, as RecentIndexes keeps the word index).
Papers not embedded yet are simply not candidates by meaning (the keyword lines still see them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Container

import numpy as np

from newsletter.digests.selectors import CompiledInterests, PaperRow, SubscriberRow, VectorLine
from newsletter.matching import Match, Source
from newsletter.matching.meaning import EXAMPLE_THRESHOLD, MEANING_THRESHOLD, RankedList, close_papers, fuse
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


def fuse_meaning(
    rows: list[SubscriberRow],
    candidates: list[PaperRow],
    *,
    interests: CompiledInterests,
    held: dict[int, set[int]],
    matches: dict[int, list[Match]],
) -> None:
    """Replace each reader's keyword picks with the fusion of those and their vector lines' picks."""
    lines = LineVectors([line for row in rows for line in interests.vector_lines.get(row.id, ())])
    paper_ids, paper_matrix = RECENT_MATRICES.get(candidates)
    close = close_papers(lines.matrix, lines.thresholds, paper_matrix)
    ids = paper_ids.tolist()
    nothing: set[int] = set()
    for row in rows:
        keyword = matches.get(row.id, [])
        ranked = [RankedList(Source.KEYWORD, [m.paper_id for m in keyword], matches=keyword)]
        for line in interests.vector_lines[row.id]:
            at = lines.row(line)
            if at is None:
                continue
            columns = close[at][0].tolist()
            ranked.append(
                RankedList(
                    Source(line.kind),
                    [ids[column] for column in columns if ids[column] != line.example_id],
                    line=line.text,
                    liked_paper_id=line.example_id,
                )
            )
        excluded: Container = held.get(row.id, nothing)
        fused = fuse(ranked, top_k=row.papers_per_digest, excluded=excluded)
        if fused:
            matches[row.id] = fused
        else:
            matches.pop(row.id, None)
