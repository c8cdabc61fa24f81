"""Vectors stored in PaperEmbedding and read back in bulk (PostgreSQL and SQLite alike)."""

from __future__ import annotations

import numpy as np
import pytest

from papers.embeddings import (
    EMBEDDING_DIM,
    MODEL_NAME,
    BadVectorError,
    embed_texts,
    paper_text,
    paper_vectors,
    vector_from_bytes,
    vector_to_bytes,
)
from papers.models import Paper, PaperEmbedding
from tests.papers.embeddings.corpus import corpus_papers


def test_a_vector_survives_the_round_trip_through_bytes():
    vector = np.random.default_rng(7).standard_normal(EMBEDDING_DIM).astype(np.float32)

    data = vector_to_bytes(vector)

    assert len(data) == EMBEDDING_DIM * 4
    np.testing.assert_array_equal(vector_from_bytes(data), vector)
    assert vector_from_bytes(data).dtype == np.float32


def test_wrong_sizes_are_refused_clearly():
    with pytest.raises(BadVectorError, match=r"shape \(384,\); this one has \(3,\)"):
        vector_to_bytes(np.zeros(3, dtype=np.float32))
    with pytest.raises(BadVectorError, match="1536 bytes; this one is 5"):
        vector_from_bytes(b"12345")


@pytest.mark.django_db
def test_stored_vectors_read_back_exactly_in_the_order_asked():
    papers = list(corpus_papers().values())[:3]
    rows = [
        Paper.objects.create(arxiv_id=f"2605.0000{i}", title=p["title"], abstract=p["abstract"])
        for i, p in enumerate(papers)
    ]
    vectors = embed_texts([paper_text(p.title, p.abstract) for p in rows])
    for paper, vector in zip(rows[:2], vectors, strict=False):
        PaperEmbedding.objects.create(
            paper=paper, model=MODEL_NAME, vector=vector_to_bytes(vector), text_hash="x"
        )
    # One more paper with a vector of another model: not comparable, so not returned.
    PaperEmbedding.objects.create(
        paper=rows[2], model="other-model", vector=vector_to_bytes(vectors[2]), text_hash="x"
    )

    ids, matrix = paper_vectors([rows[1].pk, rows[2].pk, 999_999, rows[0].pk, rows[1].pk])

    assert ids.tolist() == [rows[1].pk, rows[0].pk]
    assert ids.dtype == np.int64
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, vectors[[1, 0]])
    stored = PaperEmbedding.objects.get(paper=rows[0])
    np.testing.assert_array_equal(vector_from_bytes(stored.vector), vectors[0])
    assert rows[0].embedding.model == MODEL_NAME


@pytest.mark.django_db
def test_no_papers_give_an_empty_matrix():
    ids, matrix = paper_vectors([])
    assert ids.shape == (0,)
    assert matrix.shape == (0, EMBEDDING_DIM)


@pytest.mark.django_db
def test_deleting_a_paper_deletes_its_vector():
    paper = Paper.objects.create(arxiv_id="2605.00001", title="T")
    PaperEmbedding.objects.create(
        paper=paper,
        model=MODEL_NAME,
        vector=vector_to_bytes(np.ones(EMBEDDING_DIM, np.float32)),
        text_hash="x",
    )

    paper.delete()

    assert not PaperEmbedding.objects.exists()
