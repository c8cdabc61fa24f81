"""Celery tasks: thin wrappers that take ids, load, and call one service."""

from __future__ import annotations

from celery import shared_task

# --- Subscriptions ---------------------------------------------------------------------------


@shared_task(name="newsletter.tasks.purge_unconfirmed", acks_late=True)
def purge_unconfirmed() -> int:
    """Forget signups that were never confirmed (beat: daily). Idempotent."""
    from newsletter.services import subscribers_purge_unconfirmed

    return subscribers_purge_unconfirmed()


# --- Digests ---------------------------------------------------------------------------------
# Thin wrappers: the services live in newsletter/digest_planning.py and digest_sending.py.


@shared_task(name="newsletter.tasks.plan_digests", acks_late=True)
def plan_digests() -> dict:
    from newsletter.digest_planning import PlannerBusy, digests_plan

    try:
        report = digests_plan()
    except PlannerBusy as busy:
        # The previous run is still going: this beat is simply skipped.
        return {"busy": str(busy)}
    return {"due": report.due, "planned": report.planned, "skipped": report.skipped}


# acks_late: a message whose worker died is delivered again; the claim makes that harmless.
@shared_task(name="newsletter.tasks.send_digests", acks_late=True)
def send_digests(digest_ids: list[int]) -> dict:
    from newsletter.digest_sending import digests_send

    report = digests_send(digest_ids=[int(digest_id) for digest_id in digest_ids])
    return {"claimed": report.claimed, "sent": report.sent, "failed": report.failed}


@shared_task(name="newsletter.tasks.sweep_stuck_digests", acks_late=True)
def sweep_stuck_digests() -> dict:
    from newsletter.digest_sending import digests_sweep

    report = digests_sweep()
    return {
        "confirmed_sent": report.confirmed_sent,
        "given_up": report.given_up,
        "released": report.released,
        "requeued": len(report.requeued_ids),
    }
