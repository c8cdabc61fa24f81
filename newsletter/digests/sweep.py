"""The sweep (every 10 minutes): settle digests a dead worker left in `sending`, end the ones that
must not go out, and find lost `planned` ones.

A digest in `sending` for longer than RESEND_AFTER (well beyond the 600 s task time limit, and
beyond the seconds SendGrid takes to post its first `processed` event to our webhook):
  - any DeliveryEvent for the digest (its id is in custom_args) proves SendGrid accepted it: `sent`;
  - no event at all: SendGrid never got it, so it goes back to `planned` to be queued again. Its
    claim still counts in `attempts` (the worker may have called SendGrid before it died), so after
    MAX_ATTEMPTS such claims it is `failed` with a clear last_error instead.
Then, as the claim does (claiming.digests_cancel_unsendable): planned digests whose subscriber may
no longer be mailed are `cancelled`, and those past their send window are `expired`; neither is ever
queued again, and their papers are released like those of the digests given up here.
Digests still `planned` after REQUEUE_AFTER (their task message was lost with a killed worker) are
listed for queueing again too; a duplicate message is harmless because of the claim (sending.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from newsletter.digests.claiming import digest_items_release, digests_cancel_unsendable
from newsletter.models import DeliveryEvent, Digest

logger = logging.getLogger(__name__)

# Three task time limits (30 minutes by default): a worker that was still sending has been killed
# by then, and SendGrid's first event for anything it accepted has long reached the webhook.
RESEND_AFTER = timedelta(seconds=3 * settings.CELERY_TASK_TIME_LIMIT)
REQUEUE_AFTER = RESEND_AFTER
MAX_ATTEMPTS = 3


@dataclass(slots=True)
class SweepReport:
    confirmed_sent: int = 0
    given_up: int = 0
    released: int = 0
    cancelled: int = 0
    expired: int = 0
    requeued_ids: list[int] = field(default_factory=list)


def digests_sweep(
    *,
    now: datetime | None = None,
    resend_after: timedelta = RESEND_AFTER,
    requeue_after: timedelta = REQUEUE_AFTER,
    max_attempts: int = MAX_ATTEMPTS,
) -> SweepReport:
    """Settle digests stuck in `sending`; the report lists the planned digests to queue again."""
    now = now or timezone.now()
    report = SweepReport()
    with transaction.atomic():
        _settle_stuck(report, now=now, resend_after=resend_after, max_attempts=max_attempts)
        report.cancelled, report.expired = digests_cancel_unsendable(digests=Digest.objects.all(), now=now)
    report.requeued_ids = _planned_to_requeue(now=now, requeue_after=requeue_after)
    logger.info(
        "Digest sweep: %d confirmed sent by events, %d given up, %d released, %d cancelled, "
        "%d expired, %d re-queued",
        report.confirmed_sent,
        report.given_up,
        report.released,
        report.cancelled,
        report.expired,
        len(report.requeued_ids),
    )
    return report


def _settle_stuck(report: SweepReport, *, now: datetime, resend_after: timedelta, max_attempts: int) -> None:
    has_event = Exists(DeliveryEvent.objects.filter(digest_id=OuterRef("pk")))
    stuck = Digest.objects.filter(status=Digest.Status.SENDING, claimed_at__lt=now - resend_after)
    report.confirmed_sent = stuck.filter(has_event).update(
        status=Digest.Status.SENT,
        sent_at=now,
        updated_at=now,
        last_error="Marked sent by the sweep: SendGrid reported events for it after its worker stopped.",
    )
    # `attempts` already counts the claim that got stuck: the third stuck claim gives up.
    report.given_up = stuck.filter(~has_event, attempts__gte=max_attempts).update(
        status=Digest.Status.FAILED,
        updated_at=now,
        last_error=(
            f"Stuck in 'sending' {max_attempts} times with no SendGrid event; not sent again so no one "
            "gets it twice. Check the worker logs and the Event Webhook."
        ),
    )
    if report.given_up:
        digest_items_release(digests=Digest.objects.filter(updated_at=now))
    report.released = stuck.filter(~has_event).update(
        status=Digest.Status.PLANNED,
        claimed_at=None,
        updated_at=now,
        last_error=f"Re-queued by the sweep: in 'sending' over {resend_after} with no SendGrid event.",
    )


def _planned_to_requeue(*, now: datetime, requeue_after: timedelta) -> list[int]:
    """Planned digests to queue again: those just released, and those whose task message was lost.

    Released rows have updated_at=now; a lost task leaves an old one. The rows are stamped with
    `now`, so a digest still waiting behind a long queue is queued again at most once per
    `requeue_after`, not at every sweep (which would pile up copies of the whole backlog).
    """
    waiting = Digest.objects.filter(status=Digest.Status.PLANNED).filter(
        Q(updated_at__lt=now - requeue_after) | Q(updated_at=now)
    )
    ids = list(waiting.order_by("id").values_list("id", flat=True))
    waiting.update(updated_at=now)
    return ids
