"""The packaged model itself, run for real on corpus papers: meaning, stability, shapes, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from papers.embeddings import EMBEDDING_DIM, EmbeddingModelError, embed_texts, paper_text
from papers.embeddings import model as embedding_model
from tests.papers.embeddings.corpus import SIMILAR_PAIRS, corpus_papers


def corpus_texts(ids: list[str]) -> list[str]:
    papers = corpus_papers()
    return [paper_text(papers[i]["title"], papers[i]["abstract"]) for i in ids]


@pytest.fixture(scope="module")
def pair_vectors() -> dict[str, np.ndarray]:
    ids = [paper_id for pair in SIMILAR_PAIRS for paper_id in pair]
    return dict(zip(ids, embed_texts(corpus_texts(ids)), strict=True))


def test_papers_on_one_topic_are_closer_than_papers_on_other_topics(pair_vectors):
    for first, second in SIMILAR_PAIRS:
        same_topic = pair_vectors[first] @ pair_vectors[second]
        for _, other in SIMILAR_PAIRS:
            if other != second:
                assert same_topic > pair_vectors[first] @ pair_vectors[other] + 0.02, (first, second, other)


def test_vectors_are_unit_length_float32_rows_in_input_order(pair_vectors):
    ids = list(pair_vectors)
    vectors = embed_texts(corpus_texts(ids))

    assert vectors.shape == (len(ids), EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Sorting by length inside embed_texts must not reorder the rows.
    reversed_vectors = embed_texts(corpus_texts(ids[::-1]))
    np.testing.assert_allclose(reversed_vectors[::-1], vectors, atol=1e-5)


def test_the_same_text_gets_the_same_vector_whatever_its_batch(pair_vectors):
    text = corpus_texts(["seed-0278"])[0]
    alone = embed_texts([text])[0]
    again = embed_texts([text])[0]
    # In a batch with longer and shorter texts (padding around it) and many others.
    papers = corpus_papers()
    others = [paper_text(p["title"], p["abstract"]) for p in list(papers.values())[:40]]
    mixed = embed_texts(["Short.", *others[:20], text, *others[20:]])[21]

    np.testing.assert_array_equal(alone, again)
    np.testing.assert_allclose(mixed, alone, atol=2e-4)
    np.testing.assert_allclose(alone, pair_vectors["seed-0278"], atol=2e-4)


def test_no_texts_give_an_empty_matrix_and_an_empty_text_still_gets_a_vector():
    assert embed_texts([]).shape == (0, EMBEDDING_DIM)
    empty = embed_texts([""])
    assert empty.shape == (1, EMBEDDING_DIM)
    assert np.linalg.norm(empty[0]) == pytest.approx(1.0, abs=1e-5)


def test_long_texts_are_cut_at_the_models_length_not_refused():
    long_text = "sparse attention " * 2000
    cut = embed_texts([long_text, long_text[: len(long_text) // 2]])
    # Both are cut at MAX_TOKENS tokens of the same repeated words: the same input.
    np.testing.assert_allclose(cut[0], cut[1], atol=1e-5)


def test_paper_text_is_title_then_abstract():
    assert paper_text(" A title ", "An abstract.\n") == "A title\nAn abstract."
    assert paper_text("Only a title", "") == "Only a title"


def test_a_model_file_that_is_not_the_pinned_one_is_refused_with_what_to_do(tmp_path: Path):
    impostor = tmp_path / "model.onnx"
    impostor.write_bytes(b"not the model")

    with pytest.raises(
        EmbeddingModelError, match=r"has sha256 .* expected 8199be6f.*pip install -r requirements.txt"
    ):
        embedding_model._verified(impostor, embedding_model.MODEL_SHA256)
    with pytest.raises(EmbeddingModelError, match="Cannot read the embedding model file"):
        embedding_model._verified(tmp_path / "missing.onnx", embedding_model.MODEL_SHA256)


def test_the_shipped_files_match_their_recorded_checksums():
    assert embedding_model._verified(embedding_model.model_file(), embedding_model.MODEL_SHA256)
    assert embedding_model._verified(embedding_model.TOKENIZER_PATH, embedding_model.TOKENIZER_SHA256)


def test_runs_hold_similar_lengths_within_the_token_budget():
    lengths = [250, 3, 120, 5, 256, 4, 130, 60, 3]
    token_ids = [np.ones(n, dtype=np.int64) for n in lengths]

    batches = embedding_model._batches(token_ids)

    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert padded <= embedding_model.MAX_BATCH_TOKENS or len(batch) == 1
    # The four shortest share one run; each long text runs alone.
    assert batches[0] == [1, 8, 5, 3]
    assert [len(batch) for batch in batches[-3:]] == [1, 1, 1]
