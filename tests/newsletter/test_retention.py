"""Bounded history: pruning keeps exactly the digest items still needed, and a pruned pair is never
planned again; digests and delivery events go after their own retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newsletter.models import DeliveryEvent, Digest, DigestItem
from newsletter.retention import RetentionPolicy, history_prune
from newsletter.subscriptions.selectors import subscriber_data_export
from papers.models import Paper
from papers.services import papers_ingest
from papers.sources.records import PaperRecord
from tests.newsletter.digests.test_planning import NOW, make_papers, make_subscriber, plan

pytestmark = pytest.mark.django_db
POLICY = RetentionPolicy(item_days=30, digest_days=365, event_days=180)


def digest_with_papers(subscriber, edition: str, papers: list[Paper], *, created_at=NOW) -> Digest:
    digest = Digest.objects.create(
        subscriber=subscriber, edition=edition, status="sent", created_at=created_at
    )
    DigestItem.objects.bulk_create(
        DigestItem(digest=digest, subscriber=subscriber, paper=paper, rank=rank, score=1.0)
        for rank, paper in enumerate(papers, start=1)
    )
    return digest


def test_pruning_keeps_exactly_the_items_whose_paper_arrived_within_the_retention():
    reader = make_subscriber("reader@example.com")
    ages = {
        age: make_papers(first_seen_at=NOW - timedelta(days=age), limit=2, offset=age * 3)
        for age in (3, 29, 31, 60)
    }
    digest = digest_with_papers(reader, "2026-11-20", [p for papers in ages.values() for p in papers])

    report = history_prune(now=NOW, policy=POLICY)

    kept = set(digest.items.values_list("paper_id", flat=True))
    assert kept == {p.id for age in (3, 29) for p in ages[age]}
    assert report.items == 4
    assert Digest.objects.filter(pk=digest.pk).exists()  # the digest row itself stays
    assert history_prune(now=NOW, policy=POLICY).items == 0  # nothing left to do


def test_digests_and_events_go_after_their_own_retention():
    reader = make_subscriber("reader@example.com")
    old = digest_with_papers(reader, "2025-10-01", [], created_at=NOW - timedelta(days=400))
    recent = digest_with_papers(reader, "2026-06-01", [], created_at=NOW - timedelta(days=100))
    for days, name in ((200, "old"), (10, "new")):
        DeliveryEvent.objects.create(
            sg_event_id=name, event="delivered", email=reader.email, timestamp=NOW, raw={},
            received_at=NOW - timedelta(days=days), digest=recent,
        )  # fmt: skip

    report = history_prune(now=NOW, policy=POLICY)

    assert (report.digests, report.events) == (1, 1)
    assert list(Digest.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Digest.objects.filter(pk=old.pk).exists()
    assert list(DeliveryEvent.objects.values_list("sg_event_id", flat=True)) == ["new"]


def test_a_paper_fetched_again_after_its_pair_was_pruned_is_still_never_planned_again():
    reader = make_subscriber("reader@example.com", papers_per_digest=50)
    old = make_papers(first_seen_at=NOW - timedelta(days=40), limit=20)
    digest_with_papers(reader, "2026-10-12", old, created_at=NOW - timedelta(days=40))
    history_prune(now=NOW, policy=POLICY)
    assert not DigestItem.objects.exists()

    # Hugging Face features one of them again today: ingestion updates it, keeps its arrival.
    again = old[0]
    record = PaperRecord(arxiv_id=again.arxiv_id, title=again.title, abstract=again.abstract, source="hf",
                         featured_on=NOW.date().isoformat(), upvotes=99)  # fmt: skip
    papers_ingest(records=[record], source="hf")
    again.refresh_from_db()
    assert again.upvotes == 99 and again.first_seen_at == NOW - timedelta(days=40)
    fresh = make_papers(first_seen_at=NOW - timedelta(hours=2), limit=60, offset=300)

    plan()

    planned = set(Digest.objects.get(edition="2026-11-21").items.values_list("paper_id", flat=True))
    assert planned and planned <= {p.id for p in fresh}
    assert again.id not in planned


def test_the_data_export_says_what_is_kept_and_for_how_long(settings):
    settings.DIGEST_ITEM_RETENTION_DAYS = 21
    reader = make_subscriber("reader@example.com")
    kept = subscriber_data_export(subscriber=reader)["what_we_keep"]
    assert "21 days after each paper first appeared" in kept["digest_papers"]
    assert "365 days" in kept["digests"] and "180 days" in kept["delivery_events"]
