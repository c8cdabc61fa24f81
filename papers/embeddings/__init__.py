"""Sentence embeddings of papers: what a paper is about, as a vector, for matching by meaning.

Every paper's title and abstract is embedded by all-MiniLM-L6-v2 (int8 ONNX, on the CPU) into a
unit-length float32 vector stored in PaperEmbedding; the dot product of two vectors is their
cosine similarity. model.py runs the model (no database), vectors.py stores and reads vectors,
store.py decides which papers need embedding, similar.py finds a paper's nearest neighbours.
"""

from __future__ import annotations

from papers.embeddings.model import EMBEDDING_DIM, MODEL_NAME, EmbeddingModelError, embed_texts
from papers.embeddings.similar import similar_papers
from papers.embeddings.store import paper_text
from papers.embeddings.vectors import BadVectorError, paper_vectors, vector_from_bytes, vector_to_bytes

__all__ = [
    "EMBEDDING_DIM",
    "MODEL_NAME",
    "BadVectorError",
    "EmbeddingModelError",
    "embed_texts",
    "paper_text",
    "paper_vectors",
    "similar_papers",
    "vector_from_bytes",
    "vector_to_bytes",
]
