"""Bulk inserts: COPY's text format survives any text, and rows that exist already are kept."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from newsletter.digests.bulk import copy_text, insert_ignoring_conflicts
from newsletter.models import Digest, DigestItem
from tests.newsletter.digests.test_planning import NOW, make_papers, make_subscriber

pytestmark = pytest.mark.django_db

COLUMNS = ["digest_id", "subscriber_id", "paper_id", "rank", "score", "matched_interests", "released"]
AWKWARD = ["tab\there", "back\\slash \\N", 'new\nline and "quotes"', "emoji 🧪 and ünïcode", "\\\\t"]


def test_copy_text_escapes_what_copy_would_read_as_syntax():
    assert copy_text([(1, None, True, 2.5, "a\tb\\c\nd")]) == "1\t\\N\tt\t2.5\ta\\tb\\\\c\\nd\n"


def test_rows_round_trip_any_text_and_existing_rows_are_kept():
    subscriber = make_subscriber("reader@example.com")
    papers = make_papers(first_seen_at=NOW, limit=3)
    digest = Digest.objects.create(subscriber=subscriber, edition="2026-11-21", created_at=NOW)
    DigestItem.objects.create(
        digest=digest, subscriber=subscriber, paper=papers[0], rank=1, score=9.0, matched_interests=["theirs"]
    )
    rows = [
        (digest.id, subscriber.id, paper.id, rank, 0.5 * rank, json.dumps(AWKWARD), False)
        for rank, paper in enumerate(papers, start=1)
    ]

    with transaction.atomic():
        insert_ignoring_conflicts(DigestItem, COLUMNS, rows)

    items = {item.rank: item for item in DigestItem.objects.filter(digest=digest)}
    assert sorted(items) == [1, 2, 3]
    assert items[1].matched_interests == ["theirs"] and items[1].score == 9.0  # the existing row wins
    assert items[2].matched_interests == items[3].matched_interests == AWKWARD
    assert items[3].score == 1.5
