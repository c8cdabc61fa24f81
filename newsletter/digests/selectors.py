"""Bulk reads for digest planning and sending: a few queries per run, never one per subscriber."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Max, Q

from newsletter.delivery.suppressions import subscribers_mailable
from newsletter.digests.rendering import DigestView, ItemView
from newsletter.models import UNSENT_FINAL_STATUSES, Digest, DigestItem, Interest, Subscriber
from papers.models import Paper

CHUNK = 5000
# Below this many subscribers, filter related rows by id; above it, join on status (one scan
# beats a 100,000-element IN list).
ID_FILTER_LIMIT = 5000


@dataclass(slots=True)
class SubscriberRow:
    id: int
    email: str
    frequency: str
    weekday: int
    send_hour: int
    time_zone: str
    papers_per_digest: int


@dataclass(slots=True)
class PaperRow:
    id: int
    title: str
    abstract: str
    authors: list
    ai_keywords: list
    upvotes: int
    published_at: datetime | None
    featured_on: date | None
    first_seen_at: datetime


def active_subscriber_rows(*, emails: Iterable[str] | None = None) -> list[SubscriberRow]:
    """Subscribers who may get a digest (delivery.suppressions decides: active, address not suppressed)."""
    queryset = subscribers_mailable().order_by()
    if emails is not None:
        match_any = Q(pk__in=[])
        for email in emails:
            match_any |= Q(email__iexact=email.strip())
        queryset = queryset.filter(match_any)
    return [
        SubscriberRow(*values)
        for values in queryset.values_list(
            "id", "email", "frequency", "weekday", "send_hour", "time_zone", "papers_per_digest"
        ).iterator(chunk_size=CHUNK)
    ]


def subscriber_ids_with_editions(*, editions: Iterable[str]) -> set[tuple[int, str]]:
    """(subscriber_id, edition) pairs that already have a digest, for the given editions."""
    return set(Digest.objects.filter(edition__in=list(editions)).values_list("subscriber_id", "edition"))


def interests_by_subscriber(*, subscriber_ids: list[int]) -> dict[int, list[str]]:
    queryset = Interest.objects.order_by("subscriber_id", "position")
    if len(subscriber_ids) <= ID_FILTER_LIMIT:
        queryset = queryset.filter(subscriber_id__in=subscriber_ids)
    else:
        queryset = queryset.filter(subscriber__status=Subscriber.Status.ACTIVE)
    wanted = set(subscriber_ids)
    interests: dict[int, list[str]] = defaultdict(list)
    for subscriber_id, text in queryset.values_list("subscriber_id", "text").iterator(chunk_size=CHUNK):
        if subscriber_id in wanted:
            interests[subscriber_id].append(text)
    return interests


def last_planned_at(*, subscriber_ids: list[int], since: datetime) -> dict[int, datetime]:
    """When each subscriber's latest digest (planned after `since`) was planned.

    Digests that ended unsent (failed, cancelled, expired) do not count: the next digest looks back
    past them, so their released papers are candidates again.
    """
    queryset = (
        Digest.objects.filter(created_at__gte=since).exclude(status__in=UNSENT_FINAL_STATUSES).order_by()
    )
    if len(subscriber_ids) <= ID_FILTER_LIMIT:
        queryset = queryset.filter(subscriber_id__in=subscriber_ids)
    return dict(queryset.values_list("subscriber_id").annotate(last=Max("created_at")))


def papers_first_seen_after(*, since: datetime) -> list[PaperRow]:
    """Candidate papers, oldest arrival first (the planner slices this list per subscriber)."""
    queryset = Paper.objects.filter(first_seen_at__gt=since).order_by("first_seen_at", "id")
    return [
        PaperRow(*values)
        for values in queryset.values_list(
            "id",
            "title",
            "abstract",
            "authors",
            "ai_keywords",
            "upvotes",
            "published_at",
            "featured_on",
            "first_seen_at",
        ).iterator(chunk_size=CHUNK)
    ]


def sent_pairs(*, paper_ids: list[int]) -> list[tuple[int, int]]:
    """(subscriber_id, paper_id) for candidate papers someone got, is getting or will get in a digest.

    Exactly the items the (subscriber, paper) constraint counts: those not released (a released
    item belongs to a digest that failed, was cancelled or expired).
    """
    if not paper_ids:
        return []
    held = DigestItem.objects.filter(paper_id__in=paper_ids, released=False)
    return list(held.values_list("subscriber_id", "paper_id"))


def digests_with_subscribers(*, digest_ids: list[int]) -> list[Digest]:
    """One query: the digests and their subscribers."""
    return list(Digest.objects.filter(id__in=digest_ids).select_related("subscriber").order_by("id"))


# What the digest email shows of a paper (see digest_rendering); the rest is not loaded.
RENDERED_PAPER_FIELDS = (
    "arxiv_id",
    "title",
    "abstract",
    "authors",
    "upvotes",
    "ai_summary",
    "github_repo",
    "project_page",
)


def item_views_by_digest(*, digest_ids: list[int]) -> dict[int, list[ItemView]]:
    """Two queries: the items of these digests by rank (as plain rows), then each distinct paper once.

    A chunk of 200 digests shares most of its papers; joining them in would send each paper's
    abstract over the wire once per item instead of once per chunk. Items stay plain tuples: building
    a model instance for each of a chunk's thousands of items costs more than rendering them.
    """
    rows = list(
        DigestItem.objects.filter(digest_id__in=digest_ids)
        .order_by("digest_id", "rank")
        .values_list("digest_id", "paper_id", "matched_interests", "matched_terms")
    )
    papers = Paper.objects.only(*RENDERED_PAPER_FIELDS).in_bulk({paper_id for _, paper_id, _, _ in rows})
    views: dict[int, list[ItemView]] = defaultdict(list)
    for digest_id, paper_id, interests, terms in rows:
        views[digest_id].append(ItemView(paper=papers[paper_id], interests=interests, terms=terms))
    return views


def digest_views(*, digest_ids: list[int]) -> list[DigestView]:
    """Three queries for any number of digests: digests+subscribers, items, papers."""
    digests = digests_with_subscribers(digest_ids=digest_ids)
    items = item_views_by_digest(digest_ids=[digest.id for digest in digests])
    return [
        DigestView(
            subscriber=digest.subscriber,
            edition=digest.edition,
            frequency=digest.subscriber.frequency,
            digest_id=digest.id,
            items=items.get(digest.id, []),
        )
        for digest in digests
    ]
