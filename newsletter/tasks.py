"""Celery tasks: thin wrappers that take ids, load, and call one service.

This is the one module that queues work: services return ids, and the task (or view) that called
them queues what follows. Task names are part of the beat schedule and of queued messages: keep them.
"""

from __future__ import annotations

from celery import shared_task

from newsletter.digests.planning import PlannerBusy, digests_plan
from newsletter.digests.sending import SEND_CHUNK, digests_send
from newsletter.digests.sweep import digests_sweep
from newsletter.subscriptions.services import subscribers_purge_unconfirmed

# --- Subscriptions ---------------------------------------------------------------------------


@shared_task(name="newsletter.tasks.purge_unconfirmed", acks_late=True)
def purge_unconfirmed() -> int:
    """Forget signups that were never confirmed (beat: daily). Idempotent."""
    return subscribers_purge_unconfirmed()


# --- Digests ---------------------------------------------------------------------------------


def queue_sending(*, digest_ids: list[int]) -> int:
    """One send task per chunk of SEND_CHUNK digests; returns how many tasks were queued."""
    chunk = SEND_CHUNK
    for start in range(0, len(digest_ids), chunk):
        send_digests.delay(digest_ids[start : start + chunk])
    return (len(digest_ids) + chunk - 1) // chunk


@shared_task(name="newsletter.tasks.plan_digests", acks_late=True)
def plan_digests() -> dict:
    try:
        report = digests_plan()
    except PlannerBusy as busy:
        # The previous run is still going: this beat is simply skipped.
        return {"busy": str(busy)}
    # The planning transaction has committed: the send tasks will find the digests.
    queue_sending(digest_ids=report.planned_ids)
    return {"due": report.due, "planned": report.planned, "skipped": report.skipped}


# acks_late: a message whose worker died is delivered again; the claim makes that harmless.
@shared_task(name="newsletter.tasks.send_digests", acks_late=True)
def send_digests(digest_ids: list[int]) -> dict:
    report = digests_send(digest_ids=[int(digest_id) for digest_id in digest_ids])
    return {
        "claimed": report.claimed,
        "cancelled": report.cancelled,
        "expired": report.expired,
        "sent": report.sent,
        "failed": report.failed,
    }


@shared_task(name="newsletter.tasks.sweep_stuck_digests", acks_late=True)
def sweep_stuck_digests() -> dict:
    report = digests_sweep()
    queue_sending(digest_ids=report.requeued_ids)
    return {
        "confirmed_sent": report.confirmed_sent,
        "given_up": report.given_up,
        "released": report.released,
        "cancelled": report.cancelled,
        "expired": report.expired,
        "requeued": len(report.requeued_ids),
    }
