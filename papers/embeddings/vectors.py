"""Vectors as stored (float32 bytes in PaperEmbedding.vector) and read back in bulk."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from papers.embeddings.model import EMBEDDING_DIM, MODEL_NAME
from papers.models import PaperEmbedding

SELECT_CHUNK = 1000  # ids per SELECT: stays under SQLite's variable limit
# Little-endian float32 whatever the machine, so a database moved between machines still reads.
STORED_DTYPE = np.dtype("<f4")


class BadVectorError(ValueError):
    """Bytes or an array that are not one EMBEDDING_DIM float32 vector."""


def vector_to_bytes(vector: np.ndarray) -> bytes:
    if vector.shape != (EMBEDDING_DIM,):
        raise BadVectorError(f"A vector has shape ({EMBEDDING_DIM},); this one has {vector.shape}.")
    return np.asarray(vector, dtype=STORED_DTYPE).tobytes()


def vector_from_bytes(data: bytes) -> np.ndarray:
    if len(data) != EMBEDDING_DIM * STORED_DTYPE.itemsize:
        raise BadVectorError(
            f"A stored vector is {EMBEDDING_DIM * STORED_DTYPE.itemsize} bytes; this one is {len(data)}."
        )
    return np.frombuffer(bytes(data), dtype=STORED_DTYPE).astype(np.float32)


def paper_vectors(paper_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """The ids (int64) of the papers that have a current embedding, in the order asked, and their
    vectors as one float32 (k, EMBEDDING_DIM) matrix, row i for id i. Unknown ids are left out."""
    wanted = list(dict.fromkeys(int(paper_id) for paper_id in paper_ids))
    found: dict[int, bytes] = {}
    for start in range(0, len(wanted), SELECT_CHUNK):
        rows = PaperEmbedding.objects.filter(
            paper_id__in=wanted[start : start + SELECT_CHUNK], model=MODEL_NAME
        ).values_list("paper_id", "vector")
        found.update(rows)
    ids = np.array([paper_id for paper_id in wanted if paper_id in found], dtype=np.int64)
    return ids, matrix_from_bytes(found[paper_id] for paper_id in ids.tolist())


def matrix_from_bytes(vectors: Iterable[bytes]) -> np.ndarray:
    """Stored vectors stacked into one (k, EMBEDDING_DIM) float32 matrix, in one copy."""
    joined = b"".join(bytes(vector) for vector in vectors)
    return np.frombuffer(joined, dtype=STORED_DTYPE).astype(np.float32).reshape(-1, EMBEDDING_DIM)
