"""Recording, changing, undoing and resetting a reader's ratings.

No service queues work: each returns whether the ratings changed, and its caller (a view) queues the
retraining of the reader's taste model (newsletter.tasks.queue_taste_training) when they did.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from newsletter.feedback.models import Direction, Rating, TasteModel
from newsletter.feedback.selectors import paper_title_in_digest
from newsletter.models import Subscriber
from newsletter.subscriptions.ratelimit import Limit, rate_limit_check

# A person rates a digest's ten papers in a minute; a script following every link does more.
RATING_LIMIT_PER_SUBSCRIBER: Limit = (120, 3600)


class PaperNotInDigest(Exception):
    """The link names a paper that was not in that digest of this subscriber (or left our history)."""


class SubscriberLeft(Exception):
    """The subscriber unsubscribed: we keep no new ratings for them."""


def rating_check_limits(*, subscriber: Subscriber) -> None:
    rate_limit_check(
        scope="rating",
        ident=subscriber.key.hex,
        limit=RATING_LIMIT_PER_SUBSCRIBER,
        message="Too many ratings in the last hour. Try again later.",
    )


def rating_record(*, subscriber: Subscriber, digest_id: int, paper_id: int, direction: Direction) -> bool:
    """Record (or change) the subscriber's rating of a paper of one of their digests.

    Idempotent: the same rating again changes nothing and returns False; True when it changed.
    """
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        raise SubscriberLeft(f"subscriber {subscriber.pk} unsubscribed")
    if paper_title_in_digest(subscriber=subscriber, digest_id=digest_id, paper_id=paper_id) is None:
        raise PaperNotInDigest(f"paper {paper_id} is not in digest {digest_id} of subscriber {subscriber.pk}")
    now = timezone.now()
    with transaction.atomic():
        rating, created = Rating.objects.select_for_update().get_or_create(
            subscriber=subscriber,
            paper_id=paper_id,
            defaults={"value": direction, "digest_id": digest_id, "created_at": now, "updated_at": now},
        )
        if created or rating.value == direction:
            return created
        Rating.objects.filter(pk=rating.pk).update(value=direction, digest_id=digest_id, updated_at=now)
    return True


def rating_undo(*, subscriber: Subscriber, paper_id: int) -> bool:
    """Forget the subscriber's rating of a paper; False when there was none."""
    deleted, _ = Rating.objects.filter(subscriber=subscriber, paper_id=paper_id).delete()
    return deleted > 0


def ratings_reset(*, subscriber: Subscriber) -> int:
    """Forget all the subscriber's ratings, and at once what their taste model learnt from them (the
    next digest must not wait for a task to forget it); how many ratings there were."""
    with transaction.atomic():
        TasteModel.objects.filter(subscriber=subscriber).delete()
        deleted, _ = Rating.objects.filter(subscriber=subscriber).delete()
    return deleted
