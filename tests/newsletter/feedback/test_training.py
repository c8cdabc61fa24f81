"""Training and loading a reader's taste model, on the real corpus and the packaged embedding model."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from newsletter.feedback.models import Direction, TasteModel
from newsletter.feedback.services import rating_record, rating_undo
from newsletter.feedback.taste import load_tastes
from newsletter.feedback.training import (
    MIN_RATINGS,
    TrainingOutcome,
    taste_train,
    taste_training_requested,
)
from newsletter.models import Digest, DigestItem
from papers.embeddings import EMBEDDING_DIM, MODEL_NAME
from tests.newsletter.digests.test_planning import make_subscriber
from tests.newsletter.feedback.corpus import (
    DISLIKED_TOPIC,
    LIKED_TOPIC,
    UNRELATED_TOPIC,
    highly_relevant,
    make_papers,
    matrix,
    others,
)
from tests.newsletter.feedback.test_taste import auc

pytestmark = pytest.mark.django_db

RATED = 5


@pytest.fixture
def papers():
    return make_papers()


def digest_of(subscriber, papers, corpus_ids, edition="2026-11-30") -> Digest:
    digest = Digest.objects.create(subscriber=subscriber, edition=edition, status="sent")
    DigestItem.objects.bulk_create(
        DigestItem(digest=digest, subscriber=subscriber, paper=papers[i], rank=rank, score=1.0)
        for rank, i in enumerate(corpus_ids, start=1)
    )
    return digest


def rate(subscriber, digest, papers, corpus_ids, direction: Direction) -> None:
    for i in corpus_ids:
        rating_record(subscriber=subscriber, digest_id=digest.id, paper_id=papers[i].id, direction=direction)


def test_a_trained_model_is_stored_loaded_and_ranks_the_liked_topic_first(papers):
    reader, bystander = make_subscriber("reader@example.com"), make_subscriber("other@example.com")
    liked, disliked = highly_relevant(LIKED_TOPIC)[:RATED], highly_relevant(DISLIKED_TOPIC)[:2]
    digest = digest_of(reader, papers, [*liked, *disliked])
    rate(reader, digest, papers, liked, Direction.MORE)
    rate(reader, digest, papers, disliked, Direction.LESS)

    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.TRAINED

    stored = TasteModel.objects.get()
    assert (stored.subscriber_id, stored.ratings_count, stored.model) == (reader.id, 7, MODEL_NAME)
    assert len(bytes(stored.weights)) == EMBEDDING_DIM * 4
    tastes = load_tastes([reader.id, bystander.id])
    assert list(tastes) == [reader.id]
    taste = tastes[reader.id]
    assert sorted(taste.liked_ids.tolist()) == sorted(papers[i].id for i in liked)
    assert taste.rated_ids == frozenset(papers[i].id for i in [*liked, *disliked])
    by_id = {papers[i].id: i for i in liked}
    assert np.allclose(taste.liked_vectors, matrix([by_id[pid] for pid in taste.liked_ids.tolist()]))
    held_out = taste.score(matrix(highly_relevant(LIKED_TOPIC)[RATED:]))
    assert auc(held_out, taste.score(matrix(highly_relevant(UNRELATED_TOPIC)))) > 0.95
    assert auc(held_out, taste.score(matrix(highly_relevant(DISLIKED_TOPIC)[2:]))) > 0.95


def test_likes_alone_train_against_the_papers_of_the_digests_they_did_not_rate(papers):
    reader = make_subscriber("reader@example.com")
    liked = highly_relevant(LIKED_TOPIC)[:MIN_RATINGS]
    digest = digest_of(reader, papers, [*liked, *others()[:30]])
    rate(reader, digest, papers, liked, Direction.MORE)

    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.TRAINED

    taste = load_tastes([reader.id])[reader.id]
    held_out = taste.score(matrix(highly_relevant(LIKED_TOPIC)[MIN_RATINGS:]))
    assert auc(held_out, taste.score(matrix(others()[30:]))) > 0.9
    assert auc(held_out, taste.score(matrix(highly_relevant(UNRELATED_TOPIC)))) > 0.9


def test_the_same_ratings_are_not_learnt_twice_and_a_changed_one_is(papers):
    reader = make_subscriber("reader@example.com")
    liked = highly_relevant(LIKED_TOPIC)[:4]
    digest = digest_of(reader, papers, [*liked, *others()[:20]])
    rate(reader, digest, papers, liked, Direction.MORE)
    taste_train(subscriber_id=reader.id)
    first = TasteModel.objects.get()

    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.UNCHANGED
    assert TasteModel.objects.get().trained_at == first.trained_at

    rate(reader, digest, papers, liked[-1:], Direction.LESS)
    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.TRAINED
    changed = TasteModel.objects.get()
    assert changed.fingerprint != first.fingerprint and bytes(changed.weights) != bytes(first.weights)


def test_too_few_ratings_make_no_model_and_an_undo_below_the_minimum_removes_it(papers):
    reader = make_subscriber("reader@example.com")
    liked, disliked = (
        highly_relevant(LIKED_TOPIC)[:MIN_RATINGS],
        highly_relevant(DISLIKED_TOPIC)[:MIN_RATINGS],
    )
    digest = digest_of(reader, papers, [*liked, *disliked, *others()[:20]])
    rate(reader, digest, papers, disliked, Direction.LESS)
    # Dislikes alone say what the reader does not want, not what they want: no model.
    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.TOO_FEW
    rate(reader, digest, papers, disliked, Direction.MORE)
    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.TRAINED

    rating_undo(subscriber=reader, paper_id=papers[disliked[0]].id)

    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.REMOVED
    assert not TasteModel.objects.exists()


def test_a_request_superseded_by_a_later_one_trains_nothing(papers):
    reader = make_subscriber("reader@example.com")
    liked = highly_relevant(LIKED_TOPIC)[:MIN_RATINGS]
    digest = digest_of(reader, papers, [*liked, *others()[:20]])
    rate(reader, digest, papers, liked, Direction.MORE)
    earlier = taste_training_requested(subscriber_id=reader.id)
    later = taste_training_requested(subscriber_id=reader.id)

    assert taste_train(subscriber_id=reader.id, stamp=earlier) == TrainingOutcome.SUPERSEDED
    assert not TasteModel.objects.exists()
    assert taste_train(subscriber_id=reader.id, stamp=later) == TrainingOutcome.TRAINED


def test_a_model_trained_on_another_embedding_is_not_loaded(papers):
    reader = make_subscriber("reader@example.com")
    liked = highly_relevant(LIKED_TOPIC)[:MIN_RATINGS]
    digest = digest_of(reader, papers, [*liked, *others()[:20]])
    rate(reader, digest, papers, liked, Direction.MORE)
    taste_train(subscriber_id=reader.id)

    TasteModel.objects.update(model="an-older-embedding")

    assert load_tastes([reader.id]) == {}
    # ... and training again replaces it, though the ratings did not change.
    assert taste_train(subscriber_id=reader.id) == TrainingOutcome.TRAINED
    assert reader.id in load_tastes([reader.id])


def test_the_command_retrains_every_reader_with_ratings(papers):
    reader, other = make_subscriber("reader@example.com"), make_subscriber("other@example.com")
    liked = highly_relevant(LIKED_TOPIC)[:MIN_RATINGS]
    for subscriber in (reader, other):
        digest = digest_of(subscriber, papers, [*liked, *others()[:20]])
        rate(subscriber, digest, papers, liked, Direction.MORE)
    taste_train(subscriber_id=reader.id)
    TasteModel.objects.update(model="an-older-embedding")
    out = StringIO()

    call_command("train_tastes", stdout=out)

    assert set(TasteModel.objects.values_list("subscriber_id", "model")) == {
        (reader.id, MODEL_NAME),
        (other.id, MODEL_NAME),
    }
    assert "2 subscriber(s). trained: 2." in out.getvalue()
    with pytest.raises(CommandError, match=r"No subscriber with the address nobody@example\.com"):
        call_command("train_tastes", email="nobody@example.com")
