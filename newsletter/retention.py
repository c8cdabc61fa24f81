"""Bounded history: what Paperbox keeps of digests and delivery events, and for how long.

A day's planning writes subscribers x papers-per-digest items, so history must not grow forever:
  - Digest items (which papers someone got, and why) are kept while their paper can still be a
    candidate, plus a margin: "never the same paper twice" only needs the pairs whose paper arrived
    within the longest look-back (weekly digests, 8 days). A paper arrives once (ingestion keeps
    its first_seen_at when it is fetched again), so a pruned pair can never be planned again.
    DIGEST_ITEM_RETENTION_DAYS (at least the look-back plus a day) also keeps the "view in browser"
    page and the data export useful for a while.
  - Digests themselves (edition, status, counters) for DIGEST_RETENTION_DAYS, and SendGrid's
    delivery events for DELIVERY_EVENT_RETENTION_DAYS: what operators and the dashboard read.
A daily task deletes in batches of PRUNE_BATCH rows, each its own short statement, so it never
holds long locks against the planner or the senders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Model, QuerySet
from django.utils import timezone

from newsletter.models import DeliveryEvent, Digest, DigestItem

PRUNE_BATCH = 10_000


@dataclass(frozen=True)
class RetentionPolicy:
    item_days: int
    digest_days: int
    event_days: int

    @classmethod
    def from_settings(cls) -> RetentionPolicy:
        return cls(
            item_days=settings.DIGEST_ITEM_RETENTION_DAYS,
            digest_days=settings.DIGEST_RETENTION_DAYS,
            event_days=settings.DELIVERY_EVENT_RETENTION_DAYS,
        )

    def described(self) -> dict[str, str]:
        """What the data export says is kept, and for how long."""
        return {
            "digest_papers": f"The papers of each digest, and why they were picked, for {self.item_days} days "
            "after each paper first appeared on Paperbox.",
            "digests": f"Each digest's date, status and delivery counters for {self.digest_days} days.",
            "delivery_events": f"Delivery events from our email provider for {self.event_days} days.",
            "account": "Your address, interests, schedule and consent record until you erase them; after "
            "erasure only a hash of the address, so that it is never mailed again.",
        }


@dataclass(slots=True)
class PruneReport:
    items: int = 0
    digests: int = 0
    events: int = 0


def history_prune(*, now: datetime | None = None, policy: RetentionPolicy | None = None) -> PruneReport:
    """Delete what the retention policy no longer keeps, batch by batch."""
    now = now or timezone.now()
    policy = policy or RetentionPolicy.from_settings()
    report = PruneReport()
    old_papers = now - timedelta(days=policy.item_days)
    report.items = _delete_in_batches(DigestItem.objects.filter(paper__first_seen_at__lt=old_papers))
    # Items first: a digest's own cascade would delete its items one statement at a time.
    old_digests = Digest.objects.filter(created_at__lt=now - timedelta(days=policy.digest_days))
    report.items += _delete_in_batches(DigestItem.objects.filter(digest__in=old_digests))
    report.events = _delete_in_batches(
        DeliveryEvent.objects.filter(received_at__lt=now - timedelta(days=policy.event_days))
    )
    report.digests = _delete_in_batches(old_digests)
    return report


def _delete_in_batches(queryset: QuerySet[Model]) -> int:
    deleted = 0
    while ids := list(queryset.order_by().values_list("id", flat=True)[:PRUNE_BATCH]):
        _, per_model = queryset.model.objects.filter(id__in=ids).delete()
        deleted += per_model.get(queryset.model._meta.label, 0)
    return deleted
