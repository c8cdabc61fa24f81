"""Training a reader's taste model when their ratings change, once per burst of ratings.

Every change of a reader's ratings asks for a training (`taste_training_requested`), which newsletter.tasks
queues to run TASTE_TRAINING_DELAY_SECONDS later. The request leaves its stamp in the shared cache; a
task whose stamp is no longer the latest skips, because the later request's task will train on more
ratings. The model remembers a fingerprint of what it learnt from, so a training that would learn
the same thing again (a rating changed and changed back) is skipped too.
"""

from __future__ import annotations

import hashlib
import uuid
from enum import StrEnum

import numpy as np
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from newsletter.feedback.learner import fit_taste
from newsletter.feedback.models import Direction, Rating, TasteModel
from newsletter.models import DigestItem, Subscriber
from papers.embeddings import MODEL_NAME, paper_vectors, vector_to_bytes
from papers.models import Paper

# Below this many ratings (with at least MIN_LIKES "more like this") a reader has no taste model:
# a line through two points says more about the points than about the reader.
MIN_RATINGS = 3
MIN_LIKES = 1
# Unrated papers of the reader's latest digests, used as negatives when they rated none "less":
# they saw them and passed over them, weak evidence but the only contrast their likes have.
WEAK_NEGATIVES = 40
STAMP_TIMEOUT = 24 * 3600  # longer than any countdown; a missing stamp means "train"


class TrainingOutcome(StrEnum):
    TRAINED = "trained"
    REMOVED = "removed"  # too few ratings now (an undo, a reset): the model is deleted
    TOO_FEW = "too few ratings"
    UNCHANGED = "unchanged"
    SUPERSEDED = "superseded by a later request"
    NO_SUBSCRIBER = "no such subscriber"


def _stamp_key(subscriber_id: int) -> str:
    return f"feedback:taste-request:{subscriber_id}"


def taste_training_requested(*, subscriber_id: int) -> str:
    """Record that the subscriber's ratings changed; the stamp the queued training must carry."""
    stamp = uuid.uuid4().hex
    cache.set(_stamp_key(subscriber_id), stamp, timeout=STAMP_TIMEOUT)
    return stamp


def taste_train(*, subscriber_id: int, stamp: str | None = None) -> TrainingOutcome:
    """Train (or remove) the subscriber's taste model from their ratings as they are now.

    Idempotent: with the same ratings and embeddings it changes nothing.
    """
    latest = cache.get(_stamp_key(subscriber_id))
    if stamp is not None and latest is not None and latest != stamp:
        return TrainingOutcome.SUPERSEDED
    if not Subscriber.objects.filter(pk=subscriber_id).exists():
        return TrainingOutcome.NO_SUBSCRIBER
    ratings = dict(Rating.objects.filter(subscriber_id=subscriber_id).values_list("paper_id", "value"))
    ids, vectors = paper_vectors(ratings)
    labels = np.array([ratings[int(paper_id)] for paper_id in ids], dtype=np.int8)
    if len(labels) < MIN_RATINGS or np.count_nonzero(labels == Direction.MORE) < MIN_LIKES:
        deleted, _ = TasteModel.objects.filter(subscriber_id=subscriber_id).delete()
        return TrainingOutcome.REMOVED if deleted else TrainingOutcome.TOO_FEW
    fingerprint = ratings_fingerprint(ids, labels)
    if TasteModel.objects.filter(
        subscriber_id=subscriber_id, fingerprint=fingerprint, model=MODEL_NAME
    ).exists():
        return TrainingOutcome.UNCHANGED
    if not np.any(labels == Direction.LESS):
        negative_vectors = weak_negatives(subscriber_id=subscriber_id, rated=list(ratings))
        if not len(negative_vectors):  # an empty site: nothing to tell their likes apart from
            return TrainingOutcome.TOO_FEW
        vectors = np.vstack([vectors, negative_vectors])
        labels = np.concatenate([labels, np.full(len(negative_vectors), Direction.LESS, dtype=np.int8)])
    fitted = fit_taste(vectors, labels)
    _store(subscriber_id, fitted.weights, fitted.bias, ratings_count=len(ids), fingerprint=fingerprint)
    return TrainingOutcome.TRAINED


def subscribers_with_ratings() -> list[int]:
    return list(Rating.objects.order_by("subscriber_id").values_list("subscriber_id", flat=True).distinct())


def ratings_fingerprint(paper_ids: np.ndarray, labels: np.ndarray) -> str:
    """What a model learns from: the embedding model and the rated papers with their labels."""
    pairs = sorted(zip(paper_ids.tolist(), labels.tolist(), strict=True))
    return hashlib.sha256(f"{MODEL_NAME}|{pairs}".encode()).hexdigest()


def weak_negatives(*, subscriber_id: int, rated) -> np.ndarray:
    """Vectors of papers the reader was sent and did not rate, the latest first; when they have too
    few digests yet, the most recent papers on the site make up the number."""
    ids = list(
        DigestItem.objects.filter(subscriber_id=subscriber_id, released=False)
        .exclude(paper_id__in=rated)
        .order_by("-digest_id", "rank")
        .values_list("paper_id", flat=True)[:WEAK_NEGATIVES]
    )
    if len(ids) < WEAK_NEGATIVES // 2:
        ids += (
            Paper.objects.filter(embedding__model=MODEL_NAME)
            .exclude(id__in=[*rated, *ids])
            .order_by("-first_seen_at", "-id")
            .values_list("id", flat=True)[: WEAK_NEGATIVES - len(ids)]
        )
    _, vectors = paper_vectors(ids)
    return vectors


def _store(
    subscriber_id: int, weights: np.ndarray, bias: float, *, ratings_count: int, fingerprint: str
) -> None:
    with transaction.atomic():
        TasteModel.objects.update_or_create(
            subscriber_id=subscriber_id,
            defaults={
                "weights": vector_to_bytes(weights),
                "bias": bias,
                "ratings_count": ratings_count,
                "fingerprint": fingerprint,
                "model": MODEL_NAME,
                "trained_at": timezone.now(),
            },
        )
