"""Celery tasks: thin wrappers that take ids, load, and call one service.

This is the one module that queues work: services return ids, and the task (or view) that called
them queues what follows. Task names are part of the beat schedule and of queued messages: keep them.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Sequence

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from newsletter.digests.runs import PlannerBusy, planning_run_start, planning_shard_fail, planning_shard_plan
from newsletter.digests.sending import SEND_CHUNK, digests_send
from newsletter.digests.sweep import digests_sweep
from newsletter.feedback.training import taste_train, taste_training_requested
from newsletter.retention import history_prune
from newsletter.subscriptions.forms import InterestLine
from newsletter.subscriptions.services import (
    EmailKind,
    EmailUnavailable,
    Schedule,
    subscriber_email_send,
    subscriber_link_recipient,
    subscriber_signup,
    subscribers_purge_unconfirmed,
)

logger = logging.getLogger(__name__)

# --- Subscriptions ---------------------------------------------------------------------------


@shared_task(name="newsletter.tasks.purge_unconfirmed", acks_late=True)
def purge_unconfirmed() -> int:
    """Forget signups that were never confirmed (beat: daily). Idempotent."""
    return subscribers_purge_unconfirmed()


# Provider failures are retried with exponential backoff, 5 s doubling up to 10 min a wait, each wait
# jittered to between half and all of it: about 30 to 60 minutes in all before giving up. The longest
# wait stays under the broker's visibility timeout (1 h), past which Redis would deliver the waiting
# message a second time.
EMAIL_RETRIES = 12
EMAIL_RETRY_FIRST_WAIT = 5.0
EMAIL_RETRY_LONGEST_WAIT = 600.0


# The public forms (signup, "send me a new link") answer after counting the attempt and queueing one
# of these tasks, whatever the address: finding it, writing the signup and choosing the email happen
# here, so neither the answer nor its timing tells a known address from an unknown one. The address
# travels in the task message for that reason. Run again (a redelivered message), they repeat the
# same harmless work and queue the same email again.


def queue_signup(
    *,
    email: str,
    interests: Sequence[InterestLine],
    schedule: Schedule,
    ip: str | None,
    also_trending: bool = False,
) -> None:
    lines = [[line.text, line.canonical] for line in interests]
    signup_subscriber.delay_on_commit(email, lines, dataclasses.asdict(schedule), ip, also_trending)


@shared_task(
    name="newsletter.tasks.signup_subscriber",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
)
def signup_subscriber(
    email: str, interests: list[list[str]], schedule: dict, ip: str | None, also_trending: bool = False
) -> str:
    # also_trending has a default: a message queued before it existed still runs.
    subscriber_id = subscriber_signup(
        email=email,
        interests=[InterestLine(text=text, canonical=canonical) for text, canonical in interests],
        schedule=Schedule(**schedule),
        ip=ip,
        also_trending=also_trending,
    )
    if subscriber_id is None:
        return "suppressed: nothing to send"
    queue_subscription_email(kind=EmailKind.LINK, subscriber_id=subscriber_id)
    return f"link email queued for subscriber {subscriber_id}"


def queue_link_request(*, email: str) -> None:
    send_link_to_address.delay_on_commit(email)


@shared_task(
    name="newsletter.tasks.send_link_to_address",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
)
def send_link_to_address(email: str) -> str:
    subscriber_id = subscriber_link_recipient(email=email)
    if subscriber_id is None:
        return "unknown or suppressed address: nothing to send"
    queue_subscription_email(kind=EmailKind.LINK, subscriber_id=subscriber_id)
    return f"link email queued for subscriber {subscriber_id}"


def queue_subscription_email(*, kind: EmailKind, subscriber_id: int, new_email: str = "") -> None:
    """Queue one subscription email for when the current transaction commits (at once outside one):
    the request that caused it never waits for the provider."""
    send_subscription_email.delay_on_commit(str(kind), subscriber_id, new_email)


@shared_task(name="newsletter.tasks.send_subscription_email", bind=True, acks_late=True)
def send_subscription_email(self, kind: str, subscriber_id: int, new_email: str = "") -> str:
    """Send one confirmation, link, welcome or change-of-address email, as the subscriber is now.

    Idempotent enough, not exactly once: a message delivered again (the worker died after the
    provider took the email, before the acknowledgement) sends the same email a second time, which
    for these emails is a harmless duplicate. The person was answered long ago, so a failing
    provider is logged and retried, never reported to them.
    """
    try:
        return subscriber_email_send(kind=kind, subscriber_id=subscriber_id, new_email=new_email)
    except EmailUnavailable as error:
        if self.request.retries >= EMAIL_RETRIES:
            logger.error("Gave up after %d retries: %s", self.request.retries, error)
            return "gave up"
        wait = email_retry_wait(self.request.retries)
        logger.warning("Retrying in %.0f s (retry %d): %s", wait, self.request.retries + 1, error)
        raise self.retry(countdown=wait, max_retries=EMAIL_RETRIES) from error


def email_retry_wait(retries: int) -> float:
    longest = min(EMAIL_RETRY_LONGEST_WAIT, EMAIL_RETRY_FIRST_WAIT * 2**retries)
    return random.uniform(longest / 2, longest)


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


# --- Feedback ------------------------------------------------------------------------------


def queue_taste_training(*, subscriber_id: int) -> None:
    """Retrain the subscriber's taste model a little later, once for ratings clicked in a row (the
    training skips when a later request superseded it: newsletter/feedback/training.py)."""
    stamp = taste_training_requested(subscriber_id=subscriber_id)
    train_taste.apply_async_on_commit((subscriber_id, stamp), countdown=settings.TASTE_TRAINING_DELAY_SECONDS)


@shared_task(
    name="newsletter.tasks.train_taste", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=5
)
def train_taste(subscriber_id: int, stamp: str | None = None) -> str:
    return str(taste_train(subscriber_id=subscriber_id, stamp=stamp))
