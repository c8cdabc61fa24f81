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
    stored = PaperEmbedding.objects.filter(paper_id=paper.pk, model=MODEL_NAME).values_list(
        "vector", flat=True
    )
    vector = next(iter(stored), None)
    if vector is None or limit <= 0:
        return []
    window = _recent_window()
    scores = window.matrix @ vector_from_bytes(vector)
    scores[window.ids == paper.pk] = -np.inf
    top = _top_indices(scores, limit)
    top = top[scores[top] >= MIN_SIMILARITY]
    top_ids = window.ids[top].tolist()
    papers = Paper.objects.in_bulk(top_ids)
    # A paper deleted since the matrix was read is skipped.
    return [(papers[pk], float(scores[i])) for pk, i in zip(top_ids, top, strict=True) if pk in papers]


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
