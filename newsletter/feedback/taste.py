"""A reader's taste, as the planner uses it: a linear classifier on paper embeddings, learnt from
their ratings (learner.py fits it, training.py decides when and from what).

The planner uses `load_tastes`: one Taste per reader with a model, scoring candidate papers with a
matrix product (`Taste.score`), and naming the liked paper closest to a pick ("because you liked …").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from newsletter.feedback.models import Direction, Rating, TasteModel
from papers.embeddings import EMBEDDING_DIM, MODEL_NAME, paper_vectors, vector_from_bytes

LOAD_CHUNK = 1000  # subscribers per query in load_tastes (SQLite's bound on query parameters)


@dataclass(frozen=True)
class Taste:
    weights: np.ndarray  # float32 (EMBEDDING_DIM,)
    bias: float
    liked_ids: np.ndarray  # int64: the papers rated "more like this" that have an embedding
    liked_vectors: np.ndarray  # float32 (len(liked_ids), EMBEDDING_DIM), in the order of liked_ids
    rated_ids: frozenset[int]  # every paper the reader rated, either way

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """Decision values for the rows of `matrix` (n, EMBEDDING_DIM): higher is more to their taste."""
        return matrix @ self.weights + np.float32(self.bias)


def load_tastes(subscriber_ids: Iterable[int]) -> dict[int, Taste]:
    """The taste of each of these subscribers who has a model trained on the current embeddings."""
    ids = list(subscriber_ids)
    tastes: dict[int, Taste] = {}
    for start in range(0, len(ids), LOAD_CHUNK):
        tastes.update(_load_chunk(ids[start : start + LOAD_CHUNK]))
    return tastes


def _load_chunk(subscriber_ids: list[int]) -> dict[int, Taste]:
    models = TasteModel.objects.filter(subscriber_id__in=subscriber_ids, model=MODEL_NAME).values_list(
        "subscriber_id", "weights", "bias"
    )
    models = {subscriber_id: (bytes(weights), bias) for subscriber_id, weights, bias in models}
    if not models:
        return {}
    rated: dict[int, dict[int, int]] = {subscriber_id: {} for subscriber_id in models}
    for subscriber_id, paper_id, value in Rating.objects.filter(subscriber_id__in=models).values_list(
        "subscriber_id", "paper_id", "value"
    ):
        rated[subscriber_id][paper_id] = value
    liked = {paper_id for ratings in rated.values() for paper_id, v in ratings.items() if v == Direction.MORE}
    vector_ids, vectors = paper_vectors(liked)
    row_of = {int(paper_id): row for row, paper_id in enumerate(vector_ids)}
    return {
        subscriber_id: _taste(weights, bias, rated[subscriber_id], row_of, vectors)
        for subscriber_id, (weights, bias) in models.items()
    }


def _taste(
    weights: bytes, bias: float, ratings: dict[int, int], row_of: dict[int, int], vectors: np.ndarray
) -> Taste:
    liked_ids = np.array(
        [paper_id for paper_id, value in ratings.items() if value == Direction.MORE and paper_id in row_of],
        dtype=np.int64,
    )
    liked_vectors = vectors[[row_of[int(paper_id)] for paper_id in liked_ids]].reshape(-1, EMBEDDING_DIM)
    return Taste(
        weights=vector_from_bytes(weights),
        bias=bias,
        liked_ids=liked_ids,
        liked_vectors=liked_vectors.astype(np.float32, copy=False),
        rated_ids=frozenset(ratings),
    )
