"""The suppression list, and the one decision "may this subscriber be mailed?".

The list holds every never-mail-again reason, one row per address hash: a hard bounce, a drop for
a bad address, a spam complaint, an unsubscribe through the provider (written by the Event Webhook,
delivery/events.py, in the transaction that changes the subscriber's status) and an erasure
(written by subscriptions.services). It outlives the subscriber row: an erased or re-created
subscriber with that address is still never mailed.

`subscribers_mailable` is the decision. Planning (digests.selectors), the send claim
(digests.sending) and signup (subscriptions.services) all ask it, so the rule lives here only. It is
a queryset, so the claim can put it inside its conditional UPDATE: the check and the claim are one
statement, with no read-then-write window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Case, CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Concat

from newsletter.models import Subscriber, SubscriberStatus, Suppression, email_hash

__all__ = [
    "DIGEST_STATUSES",
    "REQUESTED_MAIL_STATUSES",
    "email_hash",
    "email_is_suppressed",
    "subscriber_may_be_mailed",
    "subscribers_mailable",
    "suppression_add",
    "suppressions_add",
    "unmailable_reason",
]

# Who gets digests.
DIGEST_STATUSES = (SubscriberStatus.ACTIVE,)
# Who gets the emails a person asks for (a confirmation, a "manage your subscription" link): also
# pending, paused and unsubscribed people; never an address that bounced or reported us as spam.
REQUESTED_MAIL_STATUSES = (
    SubscriberStatus.PENDING,
    SubscriberStatus.ACTIVE,
    SubscriberStatus.PAUSED,
    SubscriberStatus.UNSUBSCRIBED,
)


def _suppression_of_subscriber() -> QuerySet[Suppression]:
    return Suppression.objects.filter(email_hash=OuterRef("email_hash"))


def subscribers_mailable(*, statuses: Iterable[str] = DIGEST_STATUSES) -> QuerySet[Subscriber]:
    """Subscribers who may be mailed: in one of `statuses`, and their address not on the list."""
    return Subscriber.objects.filter(status__in=list(statuses)).filter(~Exists(_suppression_of_subscriber()))


def subscriber_may_be_mailed(*, subscriber_id: int, statuses: Iterable[str] = DIGEST_STATUSES) -> bool:
    return subscribers_mailable(statuses=statuses).filter(pk=subscriber_id).exists()


def email_is_suppressed(*, email: str) -> bool:
    """For an address that may have no subscriber row yet (a signup, the target of an email change)."""
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


def unmailable_reason() -> Case:
    """Why a subscriber may not get a digest, as text, for a Subscriber queryset (None when they may).

    The suppression list is named first: it is what would still stop mail after a resubscription.
    """
    suppressed_because = Subquery(_suppression_of_subscriber().values("reason")[:1])
    return Case(
        When(
            Exists(_suppression_of_subscriber()),
            then=Concat(Value("the address is on the suppression list ("), suppressed_because, Value(")")),
        ),
        When(~Q(status__in=DIGEST_STATUSES), then=Concat(Value("the subscriber is "), F("status"))),
        default=None,
        output_field=CharField(),
    )


def suppression_add(*, email: str, reason: str) -> None:
    """Put an address on the list; the first reason recorded for it is kept."""
    Suppression.objects.get_or_create(email_hash=email_hash(email), defaults={"reason": reason})


def suppressions_add(*, reasons: Mapping[str, str]) -> None:
    """Put many addresses ({email: reason}) on the list in one INSERT; existing rows keep their reason."""
    Suppression.objects.bulk_create(
        [Suppression(email_hash=email_hash(email), reason=reason) for email, reason in reasons.items()],
        ignore_conflicts=True,
        batch_size=500,
    )
