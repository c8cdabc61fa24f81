"""Which papers get embedded and when: new ones, changed ones, never twice for an unchanged text."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from papers.embeddings import MODEL_NAME, embed_texts, paper_text, vector_from_bytes
from papers.embeddings.store import papers_embed_stale, papers_needing_embedding
from papers.models import Paper, PaperEmbedding
from papers.services import papers_ingest
from papers.sources.records import PaperRecord
from tests.papers.embeddings.corpus import corpus_papers

pytestmark = pytest.mark.django_db


def make_papers(count: int) -> list[Paper]:
    corpus = list(corpus_papers().values())[:count]
    return [
        Paper.objects.create(arxiv_id=f"2605.{i:05d}", title=p["title"], abstract=p["abstract"])
        for i, p in enumerate(corpus, start=1)
    ]


def stored_vector(paper: Paper) -> np.ndarray:
    return vector_from_bytes(PaperEmbedding.objects.get(paper=paper).vector)


def test_every_paper_is_embedded_from_its_title_and_abstract_in_batches():
    papers = make_papers(5)
    batches = []

    progress = papers_embed_stale(batch_size=2, on_batch=batches.append)

    assert (progress.embedded, progress.unchanged, progress.more) == (5, 0, False)
    assert [b.embedded for b in batches] == [2, 4, 5]
    expected = embed_texts([paper_text(p.title, p.abstract) for p in papers])
    for paper, vector in zip(papers, expected, strict=True):
        np.testing.assert_allclose(stored_vector(paper), vector, atol=2e-4)
        assert PaperEmbedding.objects.get(paper=paper).model == MODEL_NAME
    assert not papers_needing_embedding().exists()


def test_a_second_run_embeds_nothing():
    make_papers(3)
    papers_embed_stale()
    created = dict(PaperEmbedding.objects.values_list("paper_id", "created_at"))

    progress = papers_embed_stale()

    assert (progress.embedded, progress.unchanged) == (0, 0)
    assert dict(PaperEmbedding.objects.values_list("paper_id", "created_at")) == created


def test_new_upvotes_do_not_re_embed_but_a_new_abstract_does():
    first, second = make_papers(2)
    papers_embed_stale()
    before = {p.pk: stored_vector(p) for p in (first, second)}
    created = dict(PaperEmbedding.objects.values_list("paper_id", "created_at"))
    records = [
        PaperRecord(arxiv_id=first.arxiv_id, title=first.title, source="hf", upvotes=99),
        PaperRecord(
            arxiv_id=second.arxiv_id,
            title=second.title,
            source="hf",
            abstract="A different abstract about bees.",
        ),
    ]
    papers_ingest(records=records, source="hf")  # moves updated_at of both

    progress = papers_embed_stale()

    assert (progress.embedded, progress.unchanged) == (1, 1)
    np.testing.assert_array_equal(stored_vector(first), before[first.pk])
    assert PaperEmbedding.objects.get(paper=first).created_at == created[first.pk]
    second.refresh_from_db()
    np.testing.assert_allclose(
        stored_vector(second), embed_texts([paper_text(second.title, second.abstract)])[0], atol=2e-4
    )
    assert not papers_needing_embedding().exists()  # the upvoted one was checked, not left stale


def test_vectors_of_another_model_are_replaced():
    (paper,) = make_papers(1)
    papers_embed_stale()
    PaperEmbedding.objects.filter(paper=paper).update(model="older-model/1")

    assert papers_embed_stale().embedded == 1
    assert PaperEmbedding.objects.get(paper=paper).model == MODEL_NAME


def test_a_paper_changed_while_it_was_embedded_is_checked_again():
    (paper,) = make_papers(1)
    papers_embed_stale()
    # As if the text changed after the run read it: updated_at is later than the check.
    embedding = PaperEmbedding.objects.get(paper=paper)
    Paper.objects.filter(pk=paper.pk).update(
        abstract="Rewritten.", updated_at=embedding.checked_at + dt.timedelta(seconds=1)
    )

    assert list(papers_needing_embedding()) == [paper]
    assert papers_embed_stale().embedded == 1


def test_a_limit_stops_early_and_says_more_are_waiting():
    make_papers(5)

    progress = papers_embed_stale(batch_size=2, limit=3)

    assert (progress.embedded, progress.more) == (3, True)
    assert papers_needing_embedding().count() == 2
    assert papers_embed_stale(limit=3).more is False


def test_checked_at_is_taken_before_the_text_is_read():
    (paper,) = make_papers(1)
    before = timezone.now()
    papers_embed_stale()
    embedding = PaperEmbedding.objects.get(paper=paper)
    assert before <= embedding.checked_at <= embedding.created_at
