"""Building an email: one message, its subject line and its List-Unsubscribe headers, made here only.

Templates are `templates/emails/<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html`. The
message goes through settings.EMAIL_BACKEND: SendGrid in production, the outbox (.eml files)
without an API key, locmem in tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def one_line(text: str) -> str:
    """A subject is one line, whatever a template or an interpolated value holds: a newline in a
    header would be a header-injection attempt or a broken header."""
    return " ".join(text.split())


def list_unsubscribe_headers(*, unsubscribe_url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: mail clients show an unsubscribe button that works in one click.

    Only the HTTPS link is advertised: nothing would read mail sent to a `mailto:` address, and
    RFC 8058 one-click needs the URL alone.
    """
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def assemble_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str] | None = None,
    categories: Iterable[str] = (),
    custom_args: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=one_line(subject),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=dict(headers or {}),
    )
    message.attach_alternative(html, "text/html")
    # Read by the SendGrid backend; other backends ignore them.
    message.sendgrid_categories = [*categories]
    message.sendgrid_custom_args = dict(custom_args or {})
    return message


def build_message(
    name: str,
    *,
    to: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
    categories: Iterable[str] = (),
    custom_args: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """Render the three templates of email `name` and assemble the message."""
    context = {"site_url": settings.SITE_URL, **context}
    return assemble_message(
        to=to,
        subject=render_to_string(f"emails/{name}-subject.txt", context),
        text=render_to_string(f"emails/{name}-body.txt", context),
        html=render_to_string(f"emails/{name}-body.html", context),
        headers=headers,
        categories=categories,
        custom_args=custom_args,
    )


def send(name: str, **message_options: Any) -> int:
    """Build the message with `build_message` (same keyword arguments) and send it."""
    return build_message(name, **message_options).send()
