"""The papers most like a given one, for its page ("Similar papers", as Hugging Face shows).

Bounded cost on a big table: a paper is compared with the SIMILAR_WINDOW most recent papers
(what a reader of new papers wants to be pointed to), whose vectors each process keeps as one
matrix. Two indexed MAX lookups per call tell whether vectors were added or replaced since, and
only then is the matrix read again (about 15 MB for 10,000 papers), so a page view is one matrix
product of 10,000 x 384 floats, whatever the table's size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Max

from papers.embeddings.model import MODEL_NAME
from papers.embeddings.vectors import matrix_from_bytes, vector_from_bytes
from papers.models import Paper, PaperEmbedding

SIMILAR_WINDOW = 10_000
# Any two machine-learning abstracts look somewhat alike: half the pairs of the test corpus's 573
# papers score above 0.41, one in five above 0.5. Below this a page shows fewer papers, not noise.
MIN_SIMILARITY = 0.5


@dataclass(frozen=True)
class _Window:
    key: tuple[Any, ...]
    ids: np.ndarray
    matrix: np.ndarray


_window: _Window | None = None
_window_lock = threading.Lock()


def similar_papers(paper: Paper, limit: int = 6) -> list[tuple[Paper, float]]:
    """Up to `limit` recent papers closest in meaning to `paper`, best first, with their cosine."""
    vector = stored_vector(paper)
    if vector is None or limit <= 0:
        return []
    nearest = nearest_recent(vector, limit=limit, min_similarity=MIN_SIMILARITY, exclude_id=paper.pk)
    papers = Paper.objects.in_bulk([paper_id for paper_id, _ in nearest.found])
    # A paper deleted since the matrix was read is skipped.
    return [(papers[pk], score) for pk, score in nearest.found if pk in papers]


def stored_vector(paper: Paper) -> np.ndarray | None:
    """The paper's vector from the current model, or None while it waits to be embedded."""
    stored = PaperEmbedding.objects.filter(paper_id=paper.pk, model=MODEL_NAME).values_list(
        "vector", flat=True
    )
    vector = next(iter(stored), None)
    return None if vector is None else vector_from_bytes(vector)


@dataclass(frozen=True)
class Nearest:
    found: list[tuple[int, float]]  # (paper id, cosine), best first, at most the limit asked for
    above: int  # how many papers of the window reach min_similarity (may exceed len(found))
    window: int  # how many papers were compared


def nearest_recent(
    vector: np.ndarray, *, limit: int, min_similarity: float, exclude_id: int | None = None
) -> Nearest:
    """The papers of the recent window closest to `vector` (unit length), at or above the cut."""
    window = _recent_window()
    scores = window.matrix @ vector if len(window.ids) else np.empty(0, np.float32)
    if exclude_id is not None:
        scores[window.ids == exclude_id] = -np.inf
    above = int(np.count_nonzero(scores >= min_similarity))
    top = _top_indices(scores, min(limit, above)) if above and limit > 0 else np.empty(0, np.int64)
    found = [(int(window.ids[i]), float(scores[i])) for i in top]
    return Nearest(found=found, above=above, window=len(window.ids))


def _top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    candidates = np.argpartition(-scores, k)[:k] if k < len(scores) else np.arange(len(scores))
    return candidates[np.argsort(-scores[candidates], kind="stable")]


def _recent_window() -> _Window:
    global _window
    key = _window_key()
    window = _window
    if window is not None and window.key == key:
        return window
    with _window_lock:
        if _window is None or _window.key != key:
            _window = _read_window(key)
        return _window


def _window_key() -> tuple[Any, ...]:
    latest = PaperEmbedding.objects.aggregate(last_paper=Max("paper_id"), last_vector=Max("created_at"))
    return (latest["last_paper"], latest["last_vector"])


def _read_window(key: tuple[Any, ...]) -> _Window:
    rows = list(
        PaperEmbedding.objects.filter(model=MODEL_NAME)
        .order_by("-paper_id")
        .values_list("paper_id", "vector")[:SIMILAR_WINDOW]
    )
    ids = np.array([paper_id for paper_id, _ in rows], dtype=np.int64)
    return _Window(key=key, ids=ids, matrix=matrix_from_bytes(vector for _, vector in rows))
