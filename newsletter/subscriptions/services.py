"""The subscriber life cycle: signup, double opt-in, preferences, pause, unsubscribe, erase.

Emails are sent synchronously through Django's email backend. Signup must not reveal whether an
address is known, so every branch does the same shape of work: look the address up, then render
and send exactly one email (a confirmation for a new or pending address, a "manage your
subscription" link for a known one). Rate limits are counted per address before the branch, so
being throttled says nothing about whether the address is known either.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, F, Q, Value, When
from django.utils import timezone

from newsletter.delivery.errors import MAIL_ERRORS
from newsletter.delivery.suppressions import (
    REQUESTED_MAIL_STATUSES,
    email_hash,
    email_is_suppressed,
    subscriber_may_be_mailed,
    suppression_add,
)
from newsletter.models import DeliveryEvent, Interest, Subscriber, Suppression
from newsletter.subscriptions import emails, selectors
from newsletter.subscriptions.forms import InterestLine
from newsletter.subscriptions.ratelimit import RateLimited, rate_limit_hit

logger = logging.getLogger(__name__)

Status = Subscriber.Status

UNCONFIRMED_RETENTION = dt.timedelta(days=30)
# (how many, per how many seconds)
SIGNUP_LIMIT_PER_IP = (10, 3600)
SIGNUP_LIMIT_PER_EMAIL = (3, 3600)
LINK_REQUEST_LIMIT_PER_IP = (10, 3600)
LINK_REQUEST_LIMIT_PER_EMAIL = (3, 3600)
EMAIL_CHANGE_LIMIT_PER_SUBSCRIBER = (3, 3600)


class EmailTaken(Exception):
    """The new address of an email change already belongs to another subscriber."""


class EmailUnavailable(Exception):
    """The email backend did not take the message (provider down, outbox unwritable).

    The message is shown to the person as is; what was saved stays saved, so trying again works.
    """


@dataclass(frozen=True)
class Schedule:
    frequency: str
    weekday: int
    send_hour: int
    time_zone: str


# --- Rate limits ---------------------------------------------------------------------------


def _check_limits(*, scope: str, ip: str | None, email: str, per_ip: tuple, per_email: tuple) -> None:
    if ip and rate_limit_hit(scope=f"{scope}:ip", ident=ip, limit=per_ip):
        raise RateLimited("Too many requests from your network. Please wait an hour and try again.")
    if rate_limit_hit(scope=f"{scope}:email", ident=email_hash(email), limit=per_email):
        raise RateLimited(
            "Too many requests for this email address. Please check your inbox (and spam folder) "
            "for the email we already sent, or try again in an hour."
        )


def _mail(send: Callable[..., int], subscriber: Subscriber, **kwargs) -> None:
    """Send one email with `send` (a newsletter.subscriptions.emails function); EmailUnavailable if it failed."""
    try:
        send(subscriber, **kwargs)
    except MAIL_ERRORS as error:
        logger.warning("Could not send %s for subscriber %s: %r", send.__name__, subscriber.pk, error)
        raise EmailUnavailable(
            "We could not send you an email just now. Nothing is lost: please try again in a few minutes."
        ) from error


# --- Signup and confirmation ---------------------------------------------------------------


def subscriber_signup(
    *, email: str, interests: Sequence[InterestLine], schedule: Schedule, ip: str | None
) -> None:
    """Start a double opt-in; for a known address send a "manage your subscription" link instead.

    A pending address takes the interests and schedule of its latest signup (someone fixing a typo
    before confirming), and the new confirmation shows them; a confirmed one is never changed here.
    Raises RateLimited or EmailUnavailable. Returns nothing on purpose: the caller must not be able
    to tell the cases apart.
    """
    _check_limits(
        scope="signup", ip=ip, email=email, per_ip=SIGNUP_LIMIT_PER_IP, per_email=SIGNUP_LIMIT_PER_EMAIL
    )
    if email_is_suppressed(email=email):
        logger.info("Signup for a suppressed address ignored")
        return
    subscriber = selectors.subscriber_by_email(email=email)
    if subscriber is None:
        try:
            subscriber = _subscriber_create(email=email, interests=interests, schedule=schedule, ip=ip)
        except IntegrityError:  # the same address signed up concurrently
            subscriber = selectors.subscriber_by_email(email=email)
            if subscriber is None:
                raise
    elif subscriber.status == Status.PENDING:
        _pending_signup_update(subscriber=subscriber, interests=interests, schedule=schedule, ip=ip)
    _send_signup_email(subscriber)


def _subscriber_create(
    *, email: str, interests: Sequence[InterestLine], schedule: Schedule, ip: str | None
) -> Subscriber:
    with transaction.atomic():
        subscriber = Subscriber.objects.create(email=email, **_schedule_fields(schedule), signup_ip=ip)
        _interests_replace(subscriber=subscriber, interests=interests)
    return subscriber


def _pending_signup_update(
    *, subscriber: Subscriber, interests: Sequence[InterestLine], schedule: Schedule, ip: str | None
) -> None:
    with transaction.atomic():
        # status=PENDING in the filter: a confirmation that lands meanwhile is never overwritten.
        # created_at restarts too: it is when consent was asked for, and the purge counts from it,
        # so a signup repeated on day 29 is not deleted while its new link still works.
        updated = Subscriber.objects.filter(pk=subscriber.pk, status=Status.PENDING).update(
            **_schedule_fields(schedule), signup_ip=ip, created_at=timezone.now()
        )
        if updated:
            _interests_replace(subscriber=subscriber, interests=interests)
    subscriber.refresh_from_db()


def _schedule_fields(schedule: Schedule) -> dict[str, object]:
    return {
        "frequency": schedule.frequency,
        "weekday": schedule.weekday,
        "send_hour": schedule.send_hour,
        "time_zone": schedule.time_zone,
    }


def _send_signup_email(subscriber: Subscriber) -> None:
    if not subscriber_may_be_mailed(subscriber_id=subscriber.pk, statuses=REQUESTED_MAIL_STATUSES):
        return
    if subscriber.status == Status.PENDING:
        _mail(emails.send_confirmation, subscriber)
    else:
        _mail(emails.send_manage_link, subscriber)


def subscriber_confirm(*, subscriber: Subscriber, ip: str | None) -> bool:
    """Activate a pending subscriber; False when it was not pending (already confirmed, unsubscribed…)."""
    now = timezone.now()
    # Conditional UPDATE: a replayed or concurrent confirmation changes nothing.
    updated = Subscriber.objects.filter(pk=subscriber.pk, status=Status.PENDING).update(
        status=Status.ACTIVE, confirmed_at=now, confirmed_ip=ip
    )
    if updated:
        subscriber.refresh_from_db()
        try:
            emails.send_welcome(subscriber)
        except MAIL_ERRORS:
            # The confirmation itself succeeded; the welcome only repeats the preferences link,
            # which the confirmation page redirects to anyway.
            logger.warning("Welcome email for subscriber %s not sent", subscriber.pk, exc_info=True)
    return bool(updated)


def subscriber_resend_confirmation(*, subscriber: Subscriber) -> bool:
    """Raises EmailUnavailable when the backend fails."""
    if subscriber.status != Status.PENDING:
        return False
    _mail(emails.send_confirmation, subscriber)
    return True


def subscriber_send_manage_link(*, email: str, ip: str | None) -> None:
    """The "send me a new link" form: same response whether or not the address is known.

    Raises RateLimited or EmailUnavailable.
    """
    _check_limits(
        scope="link",
        ip=ip,
        email=email,
        per_ip=LINK_REQUEST_LIMIT_PER_IP,
        per_email=LINK_REQUEST_LIMIT_PER_EMAIL,
    )
    if email_is_suppressed(email=email):
        return
    subscriber = selectors.subscriber_by_email(email=email)
    if subscriber is not None:
        _send_signup_email(subscriber)


# --- Preferences ---------------------------------------------------------------------------


def subscriber_update_preferences(
    *, subscriber: Subscriber, interests: Sequence[InterestLine], schedule: Schedule, papers_per_digest: int
) -> None:
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(
            **_schedule_fields(schedule), papers_per_digest=papers_per_digest
        )
        _interests_replace(subscriber=subscriber, interests=interests)
    subscriber.refresh_from_db()


def _interests_replace(*, subscriber: Subscriber, interests: Sequence[InterestLine]) -> None:
    Interest.objects.filter(subscriber=subscriber).delete()
    Interest.objects.bulk_create(
        Interest(subscriber=subscriber, text=line.text, canonical=line.canonical, position=position)
        for position, line in enumerate(interests)
    )


def _transition(*, subscriber: Subscriber, from_statuses: set[str], to: str, **fields) -> bool:
    updated = Subscriber.objects.filter(pk=subscriber.pk, status__in=from_statuses).update(
        status=to, **fields
    )
    subscriber.refresh_from_db()
    return bool(updated)


def subscriber_pause(*, subscriber: Subscriber) -> bool:
    return _transition(subscriber=subscriber, from_statuses={Status.ACTIVE}, to=Status.PAUSED)


def subscriber_resume(*, subscriber: Subscriber) -> bool:
    return _transition(subscriber=subscriber, from_statuses={Status.PAUSED}, to=Status.ACTIVE)


def subscriber_unsubscribe(*, subscriber: Subscriber) -> bool:
    """Takes effect at once; False when there was nothing to do (already unsubscribed, bounced…)."""
    return _transition(
        subscriber=subscriber,
        from_statuses={Status.PENDING, Status.ACTIVE, Status.PAUSED},
        to=Status.UNSUBSCRIBED,
        unsubscribed_at=timezone.now(),
    )


def subscriber_resubscribe(*, subscriber: Subscriber) -> bool:
    """Back to active from unsubscribed; revokes every older link (they could have been forwarded)."""
    return _transition(
        subscriber=subscriber,
        from_statuses={Status.UNSUBSCRIBED},
        to=Status.ACTIVE,
        unsubscribed_at=None,
        token_version=F("token_version") + 1,
    )


# --- Email change --------------------------------------------------------------------------


def subscriber_request_email_change(*, subscriber: Subscriber, new_email: str) -> None:
    """Mail a confirmation link to the new address; nothing changes until it is followed.

    Taken or suppressed addresses get no email, and the caller gets the same answer, so the form
    cannot be used to test which addresses are subscribed.
    """
    if rate_limit_hit(
        scope="email-change", ident=str(subscriber.key), limit=EMAIL_CHANGE_LIMIT_PER_SUBSCRIBER
    ):
        raise RateLimited("Too many email changes for this subscription. Please try again in an hour.")
    if new_email.lower() == subscriber.email.lower():
        return
    if selectors.subscriber_by_email(email=new_email) or email_is_suppressed(email=new_email):
        return
    _mail(emails.send_email_change, subscriber, new_email=new_email)


def subscriber_change_email(*, subscriber: Subscriber, new_email: str) -> None:
    """Apply a confirmed email change and revoke every link sent to the old address.

    A bounced subscriber becomes active again: the bounce was about the old address, and following
    the link just proved the new one receives our mail (the preferences page offers this way out).
    """
    reactivated = Case(
        When(status=Status.BOUNCED, then=Value(Status.ACTIVE)), default=F("status"), output_field=CharField()
    )
    try:
        with transaction.atomic():
            Subscriber.objects.filter(pk=subscriber.pk).update(
                email=new_email,
                email_hash=email_hash(new_email),
                token_version=F("token_version") + 1,
                status=reactivated,
            )
    except IntegrityError:
        raise EmailTaken(f"{new_email} already belongs to another subscription") from None
    subscriber.refresh_from_db()


# --- Erasure and retention -----------------------------------------------------------------


def subscriber_erase(*, subscriber: Subscriber) -> None:
    """Delete everything about the subscriber; keep only a hash of the address so we never mail it again."""
    with transaction.atomic():
        suppression_add(email=subscriber.email, reason=Suppression.Reason.ERASED)
        DeliveryEvent.objects.filter(Q(subscriber=subscriber) | Q(email__iexact=subscriber.email)).delete()
        # Cascades to interests, digests and digest items.
        subscriber.delete()


def subscribers_purge_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Delete signups never confirmed within UNCONFIRMED_RETENTION; returns how many."""
    cutoff = (now or timezone.now()) - UNCONFIRMED_RETENTION
    _, deleted = Subscriber.objects.filter(status=Status.PENDING, created_at__lt=cutoff).delete()
    return deleted.get("newsletter.Subscriber", 0)
