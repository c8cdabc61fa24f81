"""Bulk reads for digest planning and sending: a few queries per run, never one per subscriber."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from django.db.models import Max, Q, QuerySet, TextField
from django.db.models.functions import Cast

from newsletter.delivery.suppressions import subscribers_mailable
from newsletter.digests.rendering import DigestView, ItemView
from newsletter.matching import InterestTable, compiled_from_forms
from newsletter.matching.interests import CompiledTexts
from newsletter.models import UNSENT_FINAL_STATUSES, Digest, DigestItem, Interest, Subscriber
from papers.models import Paper
from papers.records import RECORD_FIELDS

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
    also_trending: bool


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
    updated_at: datetime


def plannable_subscribers(
    *, emails: Iterable[str] | None = None, first_id: int | None = None, last_id: int | None = None
) -> QuerySet[Subscriber]:
    """Subscribers who may get a digest (delivery.suppressions decides: active, address not suppressed),
    optionally only some addresses (any case) and only ids in [first_id, last_id] (a shard)."""
    queryset = subscribers_mailable().order_by()
    if first_id is not None:
        queryset = queryset.filter(id__gte=first_id)
    if last_id is not None:
        queryset = queryset.filter(id__lte=last_id)
    if emails is not None:
        match_any = Q(pk__in=[])
        for email in emails:
            match_any |= Q(email__iexact=email.strip())
        queryset = queryset.filter(match_any)
    return queryset


def active_subscriber_rows(
    *, emails: Iterable[str] | None = None, first_id: int | None = None, last_id: int | None = None
) -> list[SubscriberRow]:
    queryset = plannable_subscribers(emails=emails, first_id=first_id, last_id=last_id)
    return [
        SubscriberRow(*values)
        for values in queryset.values_list(
            "id",
            "email",
            "frequency",
            "weekday",
            "send_hour",
            "time_zone",
            "papers_per_digest",
            "also_trending",
        ).iterator(chunk_size=CHUNK)
    ]


def subscriber_ids_with_editions(
    *, editions: Iterable[str], subscriber_ids: list[int]
) -> set[tuple[int, str]]:
    """(subscriber_id, edition) pairs that already have a digest, for these editions and subscribers."""
    queryset = _for_subscribers(Digest.objects.filter(edition__in=list(editions)), subscriber_ids)
    return set(queryset.values_list("subscriber_id", "edition"))


def _for_subscribers(queryset, subscriber_ids: list[int]):
    """Rows of these subscribers: by id list when short, else by their id range (a shard's rows are
    a range, and one range scan beats a 100,000-element IN list); callers filter the rest in Python."""
    if len(subscriber_ids) <= ID_FILTER_LIMIT:
        return queryset.filter(subscriber_id__in=subscriber_ids)
    return queryset.filter(subscriber_id__gte=min(subscriber_ids), subscriber_id__lte=max(subscriber_ids))


@dataclass(frozen=True, slots=True)
class VectorLine:
    """A line matched by meaning: a description with its stored embedding, or an example paper."""

    text: str
    kind: str  # Interest.Kind.MEANING or EXAMPLE
    vector: bytes | None = None  # MEANING: the description's embedding
    example_id: int | None = None  # EXAMPLE: the paper


@dataclass
class CompiledInterests:
    """Subscribers' keyword lines as typed, in order, with the compiled form stored beside each, and
    their lines matched by meaning."""

    rows: dict[int, list[str]]
    forms: dict[str, list | None]
    vector_lines: dict[int, list[VectorLine]] = field(default_factory=dict)

    def has_any(self, subscriber_id: int) -> bool:
        return bool(self.rows.get(subscriber_id) or self.vector_lines.get(subscriber_id))

    def table_for(self, subscribers: list[SubscriberRow]) -> tuple[InterestTable, CompiledTexts]:
        """These subscribers as the matcher's table, and their texts' stored compiled forms."""
        texts = {text: None for row in subscribers for text in self.rows.get(row.id, ())}
        code_of = {text: code for code, text in enumerate(texts)}
        lengths = [len(self.rows.get(row.id, ())) for row in subscribers]
        indptr = np.zeros(len(subscribers) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        table = InterestTable(
            ids=np.array([row.id for row in subscribers], dtype=np.int64),
            top_k=np.array([row.papers_per_digest for row in subscribers], dtype=np.int64),
            texts=list(code_of),
            indptr=indptr,
            codes=np.array(
                [code_of[text] for row in subscribers for text in self.rows.get(row.id, ())], dtype=np.int32
            ),
        )
        return table, compiled_from_forms(self.forms[text] for text in table.texts)


def compiled_interests(*, subscriber_ids: list[int]) -> CompiledInterests:
    """One query: the interests of these subscribers with their compiled forms (each text's form once).

    The forms come as JSON text and only each distinct text's is decoded: a shard's popular lines
    would otherwise be decoded once per subscriber who typed them.
    """
    queryset = _for_subscribers(Interest.objects.order_by("subscriber_id", "position"), subscriber_ids)
    wanted = set(subscriber_ids)
    rows: dict[int, list[str]] = defaultdict(list)
    vector_lines: dict[int, list[VectorLine]] = defaultdict(list)
    encoded: dict[str, str | None] = {}
    values = queryset.values_list(
        "subscriber_id", "text", "kind", Cast("compiled", TextField()), "vector", "example_id"
    )
    for subscriber_id, text, kind, form, vector, example_id in values.iterator(chunk_size=CHUNK):
        if subscriber_id not in wanted:
            continue
        if kind == Interest.Kind.KEYWORD:
            rows[subscriber_id].append(text)
            encoded.setdefault(text, form)
        else:
            vector = bytes(vector) if vector is not None else None  # PostgreSQL gives a memoryview
            vector_lines[subscriber_id].append(VectorLine(text, kind, vector, example_id))
    forms = {text: _decoded_form(form) for text, form in encoded.items()}
    return CompiledInterests(rows, forms, vector_lines)


def _decoded_form(form: str | None) -> list | None:
    try:
        return json.loads(form) if form else None
    except ValueError:
        return None  # an unreadable form counts as an invalid interest, as a bad text does


def last_planned_at(*, subscriber_ids: list[int], since: datetime) -> dict[int, datetime]:
    """When each subscriber's latest digest (planned after `since`) was planned.

    Digests that ended unsent (failed, cancelled, expired) do not count: the next digest looks back
    past them, so their released papers are candidates again.
    """
    queryset = (
        Digest.objects.filter(created_at__gte=since).exclude(status__in=UNSENT_FINAL_STATUSES).order_by()
    )
    wanted = set(subscriber_ids)
    latest = (
        _for_subscribers(queryset, subscriber_ids)
        .values_list("subscriber_id")
        .annotate(last=Max("created_at"))
    )
    return {subscriber_id: last for subscriber_id, last in latest if subscriber_id in wanted}


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
            "updated_at",
        ).iterator(chunk_size=CHUNK)
    ]


def sent_pairs(*, paper_ids: list[int], subscriber_ids: list[int] | None = None) -> list[tuple[int, int]]:
    """(subscriber_id, paper_id) for candidate papers someone got, is getting or will get in a digest.

    Exactly the items the (subscriber, paper) constraint counts: those not released (a released
    item belongs to a digest that failed, was cancelled or expired).
    """
    if not paper_ids:
        return []
    held = DigestItem.objects.filter(paper_id__in=paper_ids, released=False)
    if subscriber_ids is not None:
        held = _for_subscribers(held, subscriber_ids)
    return list(held.values_list("subscriber_id", "paper_id"))


def digests_with_subscribers(*, digest_ids: list[int]) -> list[Digest]:
    """One query: the digests and their subscribers."""
    return list(Digest.objects.filter(id__in=digest_ids).select_related("subscriber").order_by("id"))


# What the digest email shows of a paper (see rendering), and everything finding the matched words
# reads (the matcher's record of the paper, built by papers.records); the rest is not loaded.
RENDERED_PAPER_FIELDS = (*RECORD_FIELDS, "arxiv_id", "ai_summary", "github_repo", "project_page")


def item_views_by_digest(*, digest_ids: list[int]) -> dict[int, list[ItemView]]:
    """Two queries: the items of these digests by rank (as plain rows), then each distinct paper once.

    A chunk of 200 digests shares most of its papers; joining them in would send each paper's
    abstract over the wire once per item instead of once per chunk. Items stay plain tuples: building
    a model instance for each of a chunk's thousands of items costs more than rendering them.
    """
    rows = list(
        DigestItem.objects.filter(digest_id__in=digest_ids)
        .order_by("digest_id", "rank")
        .values_list("digest_id", "paper_id", "matched_interests", "source", "liked_paper_id")
    )
    wanted = {paper_id for _, paper_id, _, _, _ in rows}
    wanted.update(liked for *_, liked in rows if liked is not None)
    papers = Paper.objects.only(*RENDERED_PAPER_FIELDS).in_bulk(wanted)
    views: dict[int, list[ItemView]] = defaultdict(list)
    for digest_id, paper_id, interests, source, liked in rows:
        views[digest_id].append(
            ItemView(paper=papers[paper_id], interests=interests, source=source, liked=papers.get(liked))
        )
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


def sent_digest_views(*, subscriber_id: int, limit: int) -> list[tuple[Digest, DigestView]]:
    """The subscriber's latest sent digests, newest first, each with its view: four queries."""
    digests = list(
        Digest.objects.filter(subscriber_id=subscriber_id, status=Digest.Status.SENT).order_by(
            "-sent_at", "-id"
        )[:limit]
    )
    views = {view.digest_id: view for view in digest_views(digest_ids=[digest.id for digest in digests])}
    return [(digest, views[digest.id]) for digest in digests]
