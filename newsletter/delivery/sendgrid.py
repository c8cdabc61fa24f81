"""A Django email backend that sends through SendGrid's v3 Mail Send API with the official SDK.

Every email Paperbox sends (digests, confirmations, notices) goes through here when
SENDGRID_API_KEY is set. The backend never retries: a failure raises one of the project's own
errors (newsletter/delivery/errors.py) and the caller (the digest sender) decides whether and when
to try again.

Messages may carry two extra attributes, read here and nowhere else in Django:
  - `sendgrid_categories: list[str]`  -> SendGrid categories (stats grouping)
  - `sendgrid_custom_args: dict[str, str]` -> custom_args; SendGrid copies them into every
    Event Webhook event as top-level keys (that is how events find their digest).
After a successful send, `message.sendgrid_message_id` holds SendGrid's X-Message-Id.

Connections: python_http_client (under the SDK) builds a fresh urllib opener per request, and
urllib sends `Connection: close`, so every message opens a new TCP (and TLS) connection; it
cannot reuse connections. Keeping one SendGridAPIClient per backend still saves rebuilding the
client and its headers for each message.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
from collections.abc import Sequence
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from python_http_client import exceptions as http_exceptions
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    Bcc,
    Category,
    Cc,
    Content,
    CustomArg,
    From,
    Header,
    Mail,
    Personalization,
    ReplyTo,
    Subject,
    To,
)

from newsletter.delivery.errors import (
    DeliveryAuthError,
    DeliveryError,
    DeliveryRateLimited,
    DeliveryRejected,
    DeliveryServerError,
    DeliveryTimeout,
)

logger = logging.getLogger(__name__)

MAIL_SEND_PATH = "/v3/mail/send"
# 4xx answers that mean the request went to the wrong place, not that the message is bad.
ENDPOINT_ERRORS = frozenset({404, 405, 415})

# SendGrid rejects a send whose `headers` contain any of these (docs, "Mail Send" > headers).
# The ones with a meaning of their own (From, Reply-To) are mapped to their fields instead.
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)


class SendGridBackend(BaseEmailBackend):
    def __init__(
        self,
        fail_silently: bool = False,
        *,
        api_key: str | None = None,
        host: str | None = None,
        timeout: float | None = None,
        **kwargs,
    ) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.api_key = api_key or settings.SENDGRID_API_KEY
        self.host = (host or settings.SENDGRID_API_HOST).rstrip("/")
        self.timeout = timeout or settings.SENDGRID_TIMEOUT
        self.client: SendGridAPIClient | None = None

    def open(self) -> bool:
        """Create the SDK client; returns True if this call created it (Django's convention)."""
        if self.client is not None:
            return False
        self.client = SendGridAPIClient(api_key=self.api_key, host=self.host)
        # The SDK has no timeout parameter; python_http_client copies this one into every
        # request it builds from this client (urllib's default would be to wait forever).
        self.client.client.timeout = self.timeout
        return True

    def close(self) -> None:
        self.client = None

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        created = self.open()
        sent = 0
        try:
            for message in email_messages:
                if not message.recipients():
                    continue
                try:
                    self._send(message)
                except DeliveryError:
                    if not self.fail_silently:
                        raise
                    logger.exception("SendGrid did not accept %r", message.subject)
                else:
                    sent += 1
        finally:
            if created:
                self.close()
        return sent

    def _send(self, message: EmailMessage) -> None:
        body = build_mail(message).get()
        try:
            response = self.client.client.mail.send.post(request_body=body, timeout=self.timeout)
        except http_exceptions.HTTPError as error:
            raise error_from_response(
                url=self.host + MAIL_SEND_PATH,
                status=error.status_code,
                body=error.body,
                headers=error.headers,
            ) from None
        except (OSError, http.client.HTTPException) as error:
            # urllib wraps connect errors in URLError (an OSError) and lets read timeouts
            # (TimeoutError) and resets (RemoteDisconnected) through unwrapped.
            raise DeliveryTimeout(
                f"POST {self.host}{MAIL_SEND_PATH}: no answer within {self.timeout}s or connection "
                f"failed ({error!r})"
            ) from error
        message.sendgrid_message_id = response.headers.get("X-Message-Id", "")


def build_mail(message: EmailMessage) -> Mail:
    """The SDK's Mail for a Django message: addresses, text then HTML, headers, tracking data."""
    mail = Mail()
    headers = dict(message.extra_headers)
    mail.from_email = From(*_address(headers.get("From") or message.from_email))
    mail.subject = Subject(message.subject)
    mail.add_personalization(_personalization(message))
    reply_to = message.reply_to or ([headers["Reply-To"]] if headers.get("Reply-To") else [])
    if reply_to:
        # SendGrid's `reply_to` holds one address; `reply_to_list` would be needed for more.
        mail.reply_to = ReplyTo(*_address(reply_to[0]))
    for mimetype, content in _contents(message):
        mail.add_content(Content(mimetype, content))
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            logger.debug("Dropping header %s: SendGrid reserves it", name)
            continue
        mail.header = Header(name, str(value))
    # The SDK inserts each category at the front; add them last-first to keep the caller's order.
    for category in reversed(list(getattr(message, "sendgrid_categories", None) or ())):
        mail.category = Category(category)
    for key, value in (getattr(message, "sendgrid_custom_args", None) or {}).items():
        mail.custom_arg = CustomArg(str(key), str(value))
    for attachment in _attachments(message):
        mail.attachment = attachment
    return mail


def _address(text: str) -> tuple[str, str | None]:
    name, email = parseaddr(text)
    if "@" not in email:
        # The SDK would take a string without "@" for a display name and then crash on it.
        raise DeliveryRejected(f"not an email address: {text!r}", detail=f"invalid address {text!r}")
    return email, (name or None)


def _personalization(message: EmailMessage) -> Personalization:
    personalization = Personalization()
    for address in message.to:
        personalization.add_to(To(*_address(address)))
    for address in message.cc:
        personalization.add_cc(Cc(*_address(address)))
    for address in message.bcc:
        personalization.add_bcc(Bcc(*_address(address)))
    return personalization


def _contents(message: EmailMessage) -> list[tuple[str, str]]:
    """(mimetype, text) pairs; the SDK puts text/plain first, as SendGrid requires."""
    parts = []
    if message.body:
        parts.append((f"text/{message.content_subtype}", message.body))
    for content, mimetype in getattr(message, "alternatives", ()):
        parts.append((mimetype, content.decode() if isinstance(content, bytes) else content))
    return parts


def _attachments(message: EmailMessage) -> list[Attachment]:
    attachments = []
    for item in message.attachments:
        if not isinstance(item, tuple):  # a MIMEBase part: not something we ever build
            raise ValueError(f"SendGridBackend: MIME attachments are not supported ({item!r})")
        filename, content, mimetype = item
        data = content.encode() if isinstance(content, str) else content
        attachments.append(
            Attachment(
                file_content=base64.b64encode(data).decode("ascii"),
                file_name=filename,
                file_type=mimetype or "application/octet-stream",
                disposition="attachment",
            )
        )
    return attachments


def error_from_response(*, url: str, status: int, body: bytes | None, headers) -> DeliveryError:
    """The typed error for a non-2xx answer, with SendGrid's own error text as `.detail`."""
    detail = _error_detail(body)
    text = f"POST {url} answered {status}: {detail or '(no error text)'}"
    if status in (401, 403):
        return DeliveryAuthError(
            f"{text}. Check SENDGRID_API_KEY and that the key has the 'Mail Send' permission.",
            status=status,
            detail=detail,
        )
    if status == 429:
        return DeliveryRateLimited(text, detail=detail, reset_at=_reset_at(headers))
    if status >= 500:
        return DeliveryServerError(text, status=status, detail=detail)
    if status in ENDPOINT_ERRORS:
        # Not about this message: every message would get the same answer from this address.
        return DeliveryError(f"{text}. Check SENDGRID_API_HOST ({url}).", status=status, detail=detail)
    return DeliveryRejected(text, status=status, detail=detail)


def _error_detail(body: bytes | None) -> str:
    """SendGrid's `{"errors": [{"message", "field"}]}` as one line; the raw text otherwise."""
    text = (body or b"").decode("utf-8", errors="replace").strip()
    try:
        errors = json.loads(text)["errors"]
        parts = []
        for error in errors:
            field = error.get("field")
            parts.append(f"{error.get('message')} (field: {field})" if field else str(error.get("message")))
        return "; ".join(parts)
    except (ValueError, KeyError, TypeError, AttributeError):
        return text[:500]


def _reset_at(headers) -> float | None:
    value = headers.get("X-RateLimit-Reset") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
