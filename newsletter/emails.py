"""Every email Paperbox sends, rendered from three templates and sent through Django's backend.

`templates/emails/<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html`. The backend is
settings.EMAIL_BACKEND: SendGrid in production, the outbox (.eml files) without an API key,
locmem in tests. The digest reuses `build_message`/`send` and `subscriber_headers`.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from newsletter import tokens
from newsletter.models import Subscriber


def render_subject(name: str, context: dict[str, Any]) -> str:
    # One line, whatever the template or an interpolated value contains: a newline in a
    # subject would be a header-injection attempt or a broken header.
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    return " ".join(subject.split())


def build_message(
    name: str,
    *,
    to: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
    categories: Iterable[str] = (),
    custom_args: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    context = {"site_url": settings.SITE_URL, **context}
    message = EmailMultiAlternatives(
        subject=render_subject(name, context),
        body=render_to_string(f"emails/{name}-body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=dict(headers or {}),
    )
    message.attach_alternative(render_to_string(f"emails/{name}-body.html", context), "text/html")
    # Read by the SendGrid backend; other backends ignore them.
    message.sendgrid_categories = [*categories]
    message.sendgrid_custom_args = dict(custom_args or {})
    return message


def send(name: str, **message_options: Any) -> int:
    """Build the message with `build_message` (same keyword arguments) and send it."""
    return build_message(name, **message_options).send()


def unsubscribe_mailto() -> str:
    address = getattr(settings, "LIST_UNSUBSCRIBE_MAILTO", "") or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return f"mailto:{address}?subject=unsubscribe"


def subscriber_headers(subscriber: Subscriber) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers, so mail clients show an unsubscribe button that works in one click."""
    return {
        "List-Unsubscribe": f"<{tokens.unsubscribe_url(subscriber)}>, <{unsubscribe_mailto()}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


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
    return send("confirm", to=subscriber.email, context=context, categories=["confirm"])


def send_manage_link(subscriber: Subscriber) -> int:
    return send(
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
    return send(
        "change-email",
        to=new_email,
        context=context,
        categories=["change-email"],
    )


def send_welcome(subscriber: Subscriber) -> int:
    return send(
        "welcome",
        to=subscriber.email,
        context=subscriber_context(subscriber),
        headers=subscriber_headers(subscriber),
        categories=["welcome"],
    )
