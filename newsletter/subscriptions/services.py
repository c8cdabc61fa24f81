"""The subscriber life cycle: signup, double opt-in, preferences, pause, unsubscribe, erase.

No service sends an email. The ones that lead to an email return the id of the subscriber to write
to, and their caller queues newsletter.tasks.send_subscription_email, which calls
`subscriber_email_send` here. A public form must answer in the same time and with the same words
whether or not the address is known, so while the person waits it only counts the attempt against
the rate limits (`*_check_limits`, per address before any branch: being throttled says nothing
either) and queues a task; looking the address up, creating the signup and choosing the email happen
in that task (`subscriber_signup`, `subscriber_link_recipient`), after the answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, F, Q, Value, When
from django.utils import timezone

from newsletter import matching
from newsletter.delivery.errors import MAIL_ERRORS, DeliveryRejected
from newsletter.delivery.suppressions import (
    REQUESTED_MAIL_STATUSES,
    email_hash,
    email_is_suppressed,
    subscriber_may_be_mailed,
    suppression_add,
)
from newsletter.models import DeliveryEvent, Interest, Subscriber, Suppression
from newsletter.subscriptions import emails, selectors
from newsletter.subscriptions.forms import InterestLine, parse_line
from newsletter.subscriptions.ratelimit import Limit, rate_limit_check
from papers.embeddings import embed_texts, vector_to_bytes
from papers.models import Paper

logger = logging.getLogger(__name__)

Status = Subscriber.Status

UNCONFIRMED_RETENTION = dt.timedelta(days=30)
# How long after unsubscribing the unsubscribe page still offers to undo it (see subscriber_undo_unsubscribe).
UNDO_UNSUBSCRIBE_WINDOW = dt.timedelta(days=7)
# (how many, per how many seconds)
SIGNUP_LIMIT_PER_IP: Limit = (10, 3600)
SIGNUP_LIMIT_PER_EMAIL: Limit = (3, 3600)
# Counted together for every way of asking for a link: the "send me a new link" form and the
# "email me my preferences link" buttons of the unsubscribe and view-in-browser pages.
LINK_REQUEST_LIMIT_PER_IP: Limit = (10, 3600)
LINK_REQUEST_LIMIT_PER_EMAIL: Limit = (3, 3600)
EMAIL_CHANGE_LIMIT_PER_SUBSCRIBER: Limit = (3, 3600)
# Statuses an unsubscribe moves away from.
SUBSCRIBED = {Status.PENDING, Status.ACTIVE, Status.PAUSED}


class EmailKind(StrEnum):
    """What newsletter.tasks.send_subscription_email sends; decided again when it runs."""

    LINK = "link"  # the link the subscriber needs: the confirmation while pending, else the preferences link
    WELCOME = "welcome"  # after confirming, with the preferences link
    CHANGE_EMAIL = "change-email"  # to the new address, with the link that makes the change


class EmailTaken(Exception):
    """The new address of an email change already belongs to another subscriber."""


class EmailUnavailable(Exception):
    """The email backend did not take the message (provider down, outbox unwritable): worth retrying."""


@dataclass(frozen=True)
class Schedule:
    frequency: str
    weekday: int
    send_hour: int
    time_zone: str


# --- Rate limits ---------------------------------------------------------------------------


def _check_limits(*, scope: str, ip: str | None, email: str, per_ip: Limit, per_email: Limit) -> None:
    rate_limit_check(
        scope=f"{scope}:ip",
        ident=ip,
        limit=per_ip,
        message="Too many requests from your network. Please wait an hour and try again.",
    )
    rate_limit_check(
        scope=f"{scope}:email",
        ident=email_hash(email),
        limit=per_email,
        message="Too many requests for this email address. Please check your inbox (and spam folder) "
        "for the email we already sent, or try again in an hour.",
    )


# --- Signup and confirmation ---------------------------------------------------------------


def subscriber_signup_check_limits(*, email: str, ip: str | None) -> None:
    """Count a signup attempt, while the person waits; RateLimited when over a limit."""
    _check_limits(
        scope="signup", ip=ip, email=email, per_ip=SIGNUP_LIMIT_PER_IP, per_email=SIGNUP_LIMIT_PER_EMAIL
    )


def subscriber_signup(
    *,
    email: str,
    interests: Sequence[InterestLine],
    schedule: Schedule,
    ip: str | None,
    also_trending: bool = False,
) -> int | None:
    """Start a double opt-in; a known address is not changed and gets its link instead.

    Runs in a task, after the signup form answered (its writes would tell a new address from a known
    one by the time they take). A pending address takes the interests and schedule of its latest
    signup (someone fixing a typo before confirming), and the new confirmation shows them; a
    confirmed one is never changed here. Returns the id to send an EmailKind.LINK email to (None for
    a suppressed address).
    """
    if email_is_suppressed(email=email):
        logger.info("Signup for a suppressed address ignored")
        return None
    subscriber = selectors.subscriber_by_email(email=email)
    if subscriber is None:
        try:
            subscriber = _subscriber_create(
                email=email, interests=interests, schedule=schedule, ip=ip, also_trending=also_trending
            )
        except IntegrityError:  # the same address signed up concurrently
            subscriber = selectors.subscriber_by_email(email=email)
            if subscriber is None:
                raise
    elif subscriber.status == Status.PENDING:
        _pending_signup_update(
            subscriber=subscriber, interests=interests, schedule=schedule, ip=ip, also_trending=also_trending
        )
    return subscriber.pk


def _subscriber_create(
    *, email: str, interests: Sequence[InterestLine], schedule: Schedule, ip: str | None, also_trending: bool
) -> Subscriber:
    with transaction.atomic():
        subscriber = Subscriber.objects.create(
            email=email, **_schedule_fields(schedule), signup_ip=ip, also_trending=also_trending
        )
        _interests_replace(subscriber=subscriber, interests=interests)
    return subscriber


def _pending_signup_update(
    *,
    subscriber: Subscriber,
    interests: Sequence[InterestLine],
    schedule: Schedule,
    ip: str | None,
    also_trending: bool,
) -> None:
    with transaction.atomic():
        # status=PENDING in the filter: a confirmation that lands meanwhile is never overwritten.
        # created_at restarts too: it is when consent was asked for, and the purge counts from it,
        # so a signup repeated on day 29 is not deleted while its new link still works.
        updated = Subscriber.objects.filter(pk=subscriber.pk, status=Status.PENDING).update(
            **_schedule_fields(schedule), signup_ip=ip, created_at=timezone.now(), also_trending=also_trending
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


def subscriber_confirm(*, subscriber: Subscriber, ip: str | None) -> bool:
    """Activate a pending subscriber; False when it was not pending (already confirmed, unsubscribed…).

    True means an EmailKind.WELCOME email is due.
    """
    now = timezone.now()
    # Conditional UPDATE: a replayed or concurrent confirmation changes nothing.
    updated = Subscriber.objects.filter(pk=subscriber.pk, status=Status.PENDING).update(
        status=Status.ACTIVE, confirmed_at=now, confirmed_ip=ip
    )
    subscriber.refresh_from_db()
    return bool(updated)


def subscriber_link_check_limits(*, email: str, ip: str | None) -> None:
    """Count a "send me a new link" request, while the person waits; RateLimited when over a limit."""
    _check_link_limits(email=email, ip=ip)


def subscriber_link_recipient(*, email: str) -> int | None:
    """For an address typed in the "send me a new link" form, in a task after the answer: the id to
    send an EmailKind.LINK email to, if the address is known and not suppressed."""
    if email_is_suppressed(email=email):
        return None
    subscriber = selectors.subscriber_by_email(email=email)
    return subscriber.pk if subscriber is not None else None


def subscriber_preferences_link_request(*, subscriber: Subscriber, ip: str | None) -> int:
    """The "email me my preferences link" button of pages that must not show that link (unsubscribe,
    view in browser): the id to send an EmailKind.LINK email to, at the address on file. Raises
    RateLimited."""
    _check_link_limits(email=subscriber.email, ip=ip)
    return subscriber.pk


def _check_link_limits(*, email: str, ip: str | None) -> None:
    _check_limits(
        scope="link",
        ip=ip,
        email=email,
        per_ip=LINK_REQUEST_LIMIT_PER_IP,
        per_email=LINK_REQUEST_LIMIT_PER_EMAIL,
    )


# --- Preferences ---------------------------------------------------------------------------


def subscriber_update_preferences(
    *,
    subscriber: Subscriber,
    interests: Sequence[InterestLine],
    schedule: Schedule,
    papers_per_digest: int,
    also_trending: bool = False,
) -> None:
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(
            **_schedule_fields(schedule), papers_per_digest=papers_per_digest, also_trending=also_trending
        )
        _interests_replace(subscriber=subscriber, interests=interests)
    subscriber.refresh_from_db()


def _interests_replace(*, subscriber: Subscriber, interests: Sequence[InterestLine]) -> None:
    details = interest_details(texts=[line.text for line in interests])
    Interest.objects.filter(subscriber=subscriber).delete()
    Interest.objects.bulk_create(
        Interest(subscriber=subscriber, text=line.text, canonical=line.canonical, position=position, **fields)
        for position, (line, fields) in enumerate(zip(interests, details, strict=True))
    )


def interest_details(*, texts: Sequence[str]) -> list[dict[str, object]]:
    """What each line stores besides its text: its kind, a description's embedding (computed here,
    all of the lines' descriptions in one call), an example's paper (one query for all)."""
    lines = [parse_line(text) for text in texts]
    descriptions = [line.description for line in lines if line.kind == matching.Source.MEANING]
    vectors = iter(embed_texts(descriptions)) if descriptions else iter(())
    example_ids = {line.arxiv_id for line in lines if line.arxiv_id}
    papers = (
        dict(Paper.objects.filter(arxiv_id__in=example_ids).values_list("arxiv_id", "id"))
        if example_ids
        else {}
    )
    details: list[dict[str, object]] = []
    for line in lines:
        fields: dict[str, object] = {"kind": line.kind.value, "vector": None, "example_id": None}
        if line.kind == matching.Source.MEANING:
            fields["vector"] = vector_to_bytes(next(vectors))
        elif line.kind == matching.Source.EXAMPLE:
            # A paper deleted since the form checked it: the line stays, picking nothing.
            fields["example_id"] = papers.get(line.arxiv_id)
        details.append(fields)
    return details


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
        from_statuses=SUBSCRIBED,
        to=Status.UNSUBSCRIBED,
        unsubscribed_at=timezone.now(),
    )


def subscriber_resubscribe(*, subscriber: Subscriber) -> bool:
    """Back to active from unsubscribed, from the preferences page; revokes every older link (they
    could have been forwarded), so the caller sends the person to a freshly signed page."""
    return _transition(
        subscriber=subscriber,
        from_statuses={Status.UNSUBSCRIBED},
        to=Status.ACTIVE,
        unsubscribed_at=None,
        token_version=F("token_version") + 1,
    )


def subscriber_feed_reset(*, subscriber: Subscriber) -> None:
    """A new address for the subscriber's digest feed; the old one stops working (tokens.FEED)."""
    Subscriber.objects.filter(pk=subscriber.pk).update(feed_version=F("feed_version") + 1)
    subscriber.refresh_from_db(fields=["feed_version"])


def subscriber_undo_unsubscribe(*, subscriber: Subscriber) -> bool:
    """Back to active, from the unsubscribe link's own page, within UNDO_UNSUBSCRIBE_WINDOW of leaving.

    Unlike subscriber_resubscribe this revokes no link. The link used here is in the headers of every
    email the person has: bumping token_version would break it on the very page they are on, and the
    unsubscribe link of every older email with it, when they may want to leave again right away. The
    window bounds what that link grants: an old (perhaps forwarded) email cannot subscribe someone
    again long after they left. Only a subscriber who once confirmed can come back this way.
    """
    updated = Subscriber.objects.filter(
        pk=subscriber.pk,
        status=Status.UNSUBSCRIBED,
        confirmed_at__isnull=False,
        unsubscribed_at__gte=timezone.now() - UNDO_UNSUBSCRIBE_WINDOW,
    ).update(status=Status.ACTIVE, unsubscribed_at=None)
    subscriber.refresh_from_db()
    return bool(updated)


def subscriber_can_undo_unsubscribe(*, subscriber: Subscriber) -> bool:
    return (
        subscriber.status == Status.UNSUBSCRIBED
        and subscriber.confirmed_at is not None
        and subscriber.unsubscribed_at is not None
        and subscriber.unsubscribed_at >= timezone.now() - UNDO_UNSUBSCRIBE_WINDOW
    )


# --- Email change --------------------------------------------------------------------------


def subscriber_email_change_check_limits(*, subscriber: Subscriber) -> None:
    """Count a change-of-address request; RateLimited when over the limit.

    The caller then queues an EmailKind.CHANGE_EMAIL email whatever the new address: whether it is
    taken or suppressed is decided when the email is sent (`_email_for`), so the form answers the
    same, as fast, and cannot be used to test which addresses are subscribed. Nothing changes until
    the emailed link is followed.
    """
    rate_limit_check(
        scope="email-change",
        ident=str(subscriber.key),
        limit=EMAIL_CHANGE_LIMIT_PER_SUBSCRIBER,
        message="Too many email changes for this subscription. Please try again in an hour.",
    )


def _email_change_allowed(*, subscriber: Subscriber, new_email: str) -> bool:
    if new_email.lower() == subscriber.email.lower():
        return False
    return not (selectors.subscriber_by_email(email=new_email) or email_is_suppressed(email=new_email))


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


# --- The emails, sent by newsletter.tasks.send_subscription_email ---------------------------


def subscriber_email_send(*, kind: str, subscriber_id: int, new_email: str = "") -> str:
    """Send one subscription email, deciding from the subscriber as they are now; returns what happened.

    Nothing is sent to a subscriber who is gone, to a suppressed address, or when the email no longer
    applies (a welcome after unsubscribing, a link to a bounced address, an address change to an
    address taken meanwhile). Raises EmailUnavailable when the provider failed in a way worth retrying;
    a message the provider refused as such is logged and not retried.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).prefetch_related("interests").first()
    if subscriber is None:
        return "skipped: the subscriber no longer exists"
    to = new_email if kind == EmailKind.CHANGE_EMAIL else subscriber.email
    if email_is_suppressed(email=to):
        return "skipped: the address is suppressed"
    send = _email_for(EmailKind(kind), subscriber, new_email=new_email)
    if send is None:
        return f"skipped: the {kind} email does not apply (subscriber {subscriber.status})"
    try:
        send()
    except DeliveryRejected as error:
        logger.warning("The provider refused the %s email to subscriber %s: %s", kind, subscriber_id, error)
        return "refused by the provider"
    except MAIL_ERRORS as error:
        raise EmailUnavailable(f"{kind} email to subscriber {subscriber_id}: {error!r}") from error
    return f"sent: {kind}"


def _email_for(kind: EmailKind, subscriber: Subscriber, *, new_email: str) -> Callable[[], int] | None:
    status = subscriber.status
    if kind == EmailKind.CHANGE_EMAIL:
        # Whatever the status: it goes to the new address (moving is the way out of a bounce).
        if not _email_change_allowed(subscriber=subscriber, new_email=new_email):
            return None
        return lambda: emails.send_email_change(subscriber, new_email=new_email)
    # delivery.suppressions decides who may get an email they asked for (not bounced, not complained).
    if not subscriber_may_be_mailed(subscriber_id=subscriber.pk, statuses=REQUESTED_MAIL_STATUSES):
        return None
    if kind == EmailKind.WELCOME:
        return (lambda: emails.send_welcome(subscriber)) if status == Status.ACTIVE else None
    if status == Status.PENDING:  # not confirmed yet: the confirmation is the link they need
        return lambda: emails.send_confirmation(subscriber)
    return lambda: emails.send_manage_link(subscriber)


# --- Erasure and retention -----------------------------------------------------------------


def subscriber_erase(*, subscriber: Subscriber) -> None:
    """Delete everything about the subscriber; keep only a hash of the address so we never mail it again."""
    with transaction.atomic():
        suppression_add(email=subscriber.email, reason=Suppression.Reason.ERASED)
        DeliveryEvent.objects.filter(Q(subscriber=subscriber) | Q(email__iexact=subscriber.email)).delete()
        # Cascades to interests, digests, digest items, ratings and the taste model.
        subscriber.delete()


def subscribers_purge_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Delete signups never confirmed within UNCONFIRMED_RETENTION; returns how many."""
    cutoff = (now or timezone.now()) - UNCONFIRMED_RETENTION
    _, deleted = Subscriber.objects.filter(status=Status.PENDING, created_at__lt=cutoff).delete()
    return deleted.get("newsletter.Subscriber", 0)
