"""Reads about subscribers: lookups, the data export, admin figures."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import Lower

from newsletter.feedback.selectors import subscriber_ratings
from newsletter.matching import explain_match
from newsletter.models import DeliveryEvent, Digest, Interest, Subscriber
from newsletter.retention import RetentionPolicy
from papers.records import paper_record_from_paper


def subscriber_by_email(*, email: str) -> Subscriber | None:
    # Lower("email") is exactly the expression of the unique index, so this is an index lookup.
    return (
        Subscriber.objects.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower()).first()
    )


def interest_examples(*, subscriber: Subscriber) -> list[tuple[str, str]]:
    """The subscriber's `like:` lines as typed, each with its paper's title ("" when it is gone)."""
    lines = Interest.objects.filter(subscriber=subscriber, kind=Interest.Kind.EXAMPLE).select_related(
        "example"
    )
    return [(line.text, line.example.title if line.example else "") for line in lines.order_by("position")]


def subscriber_status_counts() -> dict[str, int]:
    rows = Subscriber.objects.values("status").annotate(n=Count("id")).order_by()
    counts = {status: 0 for status in Subscriber.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def top_interests(
    *, limit: int = 20, subscribers: QuerySet[Subscriber] | None = None
) -> list[dict[str, Any]]:
    """The most common interests by canonical form, with how many subscribers hold each and one spelling."""
    interests = Interest.objects.all()
    if subscribers is not None:
        interests = interests.filter(subscriber__in=subscribers)
    return list(
        interests.values("canonical")
        .annotate(subscribers=Count("subscriber", distinct=True), example=Min("text"))
        .order_by("-subscribers", "canonical")[:limit]
    )


def subscriber_data_export(*, subscriber: Subscriber) -> dict[str, Any]:
    """Everything we hold about one subscriber, as JSON-ready data (the "download my data" file)."""
    digests = (
        Digest.objects.filter(subscriber=subscriber).prefetch_related("items__paper").order_by("created_at")
    )
    events = DeliveryEvent.objects.filter(Q(subscriber=subscriber) | Q(email__iexact=subscriber.email))
    return {
        "subscriber": {
            "email": subscriber.email,
            "status": subscriber.status,
            "frequency": subscriber.frequency,
            "weekday": subscriber.weekday,
            "send_hour": subscriber.send_hour,
            "time_zone": subscriber.time_zone,
            "papers_per_digest": subscriber.papers_per_digest,
            "also_trending": subscriber.also_trending,
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
        },
        "consent": {
            "signup_at": _iso(subscriber.created_at),
            "signup_ip": subscriber.signup_ip,
            "confirmed_at": _iso(subscriber.confirmed_at),
            "confirmed_ip": subscriber.confirmed_ip,
        },
        "interests": [
            {
                "text": i.text,
                "canonical": i.canonical,
                "kind": i.kind,
                "position": i.position,
                "created_at": _iso(i.created_at),
            }
            for i in subscriber.interests.all()
        ],
        "digests": [_digest_export(digest) for digest in digests],
        "ratings": [
            {
                "arxiv_id": rating.arxiv_id,
                "title": rating.title,
                "rating": rating.direction.label,
                "rated_at": _iso(rating.rated_at),
            }
            for rating in subscriber_ratings(subscriber=subscriber)
        ],
        "what_we_keep": RetentionPolicy.from_settings().described(),
        "delivery_events": [
            {"event": e.event, "timestamp": _iso(e.timestamp), "reason": e.reason}
            for e in events.order_by("timestamp")
        ],
    }


def _digest_export(digest: Digest) -> dict[str, Any]:
    return {
        "edition": digest.edition,
        "status": digest.status,
        "created_at": _iso(digest.created_at),
        "sent_at": _iso(digest.sent_at),
        "delivered_at": _iso(digest.delivered_at),
        "open_count": digest.open_count,
        "click_count": digest.click_count,
        "papers": [
            {
                "rank": item.rank,
                "arxiv_id": item.paper.arxiv_id,
                "title": item.paper.title,
                "score": item.score,
                "matched_interests": item.matched_interests,
                "source": item.source,
                # Found now, as when the digest is shown: the planner stores only the lines.
                "matched_terms": explain_match(item.matched_interests, paper_record_from_paper(item.paper)),
            }
            for item in digest.items.all()
        ],
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
