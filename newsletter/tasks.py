"""Celery tasks: thin wrappers that take ids, load, and call one service.

This is the one module that queues work: services return ids, and the task (or view) that called
them queues what follows. Task names are part of the beat schedule and of queued messages: keep them.
"""

from __future__ import annotations

from celery import shared_task

from newsletter.digests.runs import PlannerBusy, planning_run_start, planning_shard_fail, planning_shard_plan
from newsletter.digests.sending import SEND_CHUNK, digests_send
from newsletter.digests.sweep import digests_sweep
from newsletter.retention import history_prune
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
    """The coordinator (beat: every 15 minutes): one run, one planning task per shard."""
    try:
        run = planning_run_start()
    except PlannerBusy as busy:
        # This slot is planned already, or the previous run is still going: this beat is skipped.
        return {"busy": str(busy)}
    # The run's transaction has committed: any worker can take any shard now.
    shard_ids = list(run.shard_set.order_by("number").values_list("id", flat=True))
    for shard_id in shard_ids:
        plan_digest_shard.delay(shard_id)
    return {"run": run.pk, "shards": len(shard_ids)}


SHARD_RETRIES = 3


@shared_task(name="newsletter.tasks.plan_digest_shard", acks_late=True, bind=True, max_retries=SHARD_RETRIES)
def plan_digest_shard(self, shard_id: int) -> dict:
    """Plan one shard, then queue its sends; a failure is retried with backoff, others go on."""
    try:
        report = planning_shard_plan(shard_id=int(shard_id))
    except Exception as error:
        if self.request.retries >= SHARD_RETRIES:
            planning_shard_fail(shard_id=int(shard_id), error=repr(error))
            raise
        raise self.retry(exc=error, countdown=30 * 2**self.request.retries) from error
    # The shard's transaction has committed: the send tasks will find its digests.
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


@shared_task(name="newsletter.tasks.prune_history", acks_late=True)
def prune_history() -> dict:
    """Delete digests, items and events past their retention (beat: daily). Idempotent."""
    report = history_prune()
    return {"items": report.items, "digests": report.digests, "events": report.events}


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
