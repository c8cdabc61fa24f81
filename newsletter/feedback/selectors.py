"""Reads about ratings: what a reader rated, for their preferences page and their data export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsletter.feedback.models import Direction, Rating
from newsletter.models import DigestItem, Subscriber


@dataclass(frozen=True, slots=True)
class RatingRow:
    paper_id: int
    arxiv_id: str
    title: str
    direction: Direction
    rated_at: datetime


def subscriber_ratings(*, subscriber: Subscriber) -> list[RatingRow]:
    """The subscriber's ratings, the latest first."""
    rows = (
        Rating.objects.filter(subscriber=subscriber)
        .order_by("-updated_at", "-id")
        .values_list("paper_id", "paper__arxiv_id", "paper__title", "value", "updated_at")
    )
    return [
        RatingRow(paper_id, arxiv_id, " ".join(title.split()), Direction(value), rated_at)
        for paper_id, arxiv_id, title, value, rated_at in rows
    ]


def subscriber_rating_of(*, subscriber: Subscriber, paper_id: int) -> Direction | None:
    value = Rating.objects.filter(subscriber=subscriber, paper_id=paper_id).values_list("value", flat=True)
    return Direction(value[0]) if value else None


def paper_title_in_digest(*, subscriber: Subscriber, digest_id: int, paper_id: int) -> str | None:
    """The title of the paper if it was in that digest of the subscriber (and is still in our
    history), else None: what a rating link may rate."""
    titles = DigestItem.objects.filter(
        digest_id=digest_id, subscriber_id=subscriber.pk, paper_id=paper_id
    ).values_list("paper__title", flat=True)
    return " ".join(titles[0].split()) if titles else None
