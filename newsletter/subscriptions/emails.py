"""The emails of the subscriber life cycle: confirmation, "manage your subscription", email change,
welcome. Each is rendered and sent through newsletter.mail."""

from __future__ import annotations

from typing import Any

from newsletter import mail
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens


def subscriber_headers(subscriber: Subscriber) -> dict[str, str]:
    return mail.list_unsubscribe_headers(unsubscribe_url=tokens.unsubscribe_url(subscriber))


def subscriber_context(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "subscriber": subscriber,
        "interests": [interest.text for interest in subscriber.interests.all()],
        "preferences_url": tokens.preferences_url(subscriber),
        "unsubscribe_url": tokens.unsubscribe_url(subscriber),
    }


def send_confirmation(subscriber: Subscriber) -> int:
    # No List-Unsubscribe here: the address has not opted in to anything yet, and ignoring
    # the email is how one declines.
    context = {
        "subscriber": subscriber,
        "interests": [interest.text for interest in subscriber.interests.all()],
        "confirm_url": tokens.confirm_url(subscriber),
        "expiry_days": tokens.MAX_AGE[tokens.Purpose.CONFIRM].days,
    }
    return mail.send("confirm", to=subscriber.email, context=context, categories=["confirm"])


def send_manage_link(subscriber: Subscriber) -> int:
    return mail.send(
        "manage",
        to=subscriber.email,
        context=subscriber_context(subscriber),
        headers=subscriber_headers(subscriber),
        categories=["manage"],
    )


def send_email_change(subscriber: Subscriber, *, new_email: str) -> int:
    """Sent to the new address: following the link proves it belongs to the subscriber.

    No List-Unsubscribe: like a confirmation, it goes to an address that has not opted in.
    """
    context = {
        **subscriber_context(subscriber),
        "new_email": new_email,
        "change_url": tokens.change_email_url(subscriber, new_email),
        "expiry_days": tokens.MAX_AGE[tokens.Purpose.CHANGE_EMAIL].days,
    }
    return mail.send("change-email", to=new_email, context=context, categories=["change-email"])


def send_welcome(subscriber: Subscriber) -> int:
    return mail.send(
        "welcome",
        to=subscriber.email,
        context=subscriber_context(subscriber),
        headers=subscriber_headers(subscriber),
        categories=["welcome"],
    )
