"""A Django email backend that sends through SendGrid's v3 Mail Send API, on kept-alive connections.

Every email Paperbox sends (digests, confirmations, notices) goes through here when
SENDGRID_API_KEY is set. The backend never retries: a failure raises one of the project's own
errors (newsletter/delivery/errors.py) and the caller (the digest sender) decides whether and when
to try again.

Messages may carry two extra attributes, read here and nowhere else in Django:
  - `sendgrid_categories: list[str]`  -> SendGrid categories (stats grouping)
  - `sendgrid_custom_args: dict[str, str]` -> custom_args; SendGrid copies them into every
    Event Webhook event as top-level keys (that is how events find their digest).
After a successful send, `message.sendgrid_message_id` holds SendGrid's X-Message-Id.

What stays the official SDK's (sendgrid 6.12.5): the Mail model (`build_mail` fills the SDK's
helpers), the JSON body (`Mail.get()`, serialized as its python_http_client does) and the request
headers (Authorization, User-Agent, Accept, read from an SDK client; Content-Type). What is ours:
the transport. python_http_client builds a fresh urllib opener for every request and urllib sends
`Connection: close`, so the SDK opens a new TCP (and TLS) connection per message and offers no way
to keep one: it has no session, no pool and no transport to plug in.

So the POST goes through urllib3 (the library under requests), whose pool keeps connections alive:
  - One pool per process, shared by every backend and thread: close() lets go of it and the next
    backend (the next digest task, the next signup) finds the connections still open. urllib3's
    pool is thread-safe and lends each connection to one request at a time; it keeps POOL_SIZE
    connections per host, at least the sending threads of a digest task. A forked child (Celery's
    prefork pool) starts a pool of its own: the inherited sockets are the parent's.
  - urllib3 retries nothing (retries=False): a POST that may have reached SendGrid is never sent a
    second time behind the caller's back. A connection the server closed while it was idle is
    noticed before the request and opened again; a connection that breaks during the request
    raises DeliveryTimeout, as before.
  - Redirects are not followed: Mail Send never redirects, so a 3xx means SENDGRID_API_HOST is
    wrong (plain DeliveryError naming it, like 404). urllib used to follow it as a GET, which then
    failed with 404 or 405 and the same error.
  - As with urllib: HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment apply, and TLS is
    verified against the system's certificate authorities.
Why not requests: it costs about twice urllib3's CPU per request (cookies, hooks, settings merged
per call), and its Session is not documented as safe to share between threads.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Sequence
from email.utils import parseaddr
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
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
from urllib3 import exceptions as urllib3_errors

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

# Connections a process keeps open per host: at least the sending threads of one digest task
# (digests/sending.py SEND_THREADS), plus a few for the web process's mail. More threads than this
# still send, on extra connections closed after use.
POOL_SIZE = 16
# With retries=False urllib3 raises these as they are. TimeoutError covers connect (refused,
# unresolvable: NewConnectionError) and read timeouts; ProtocolError a connection that closed
# before or during the answer.
TRANSPORT_ERRORS = (
    urllib3_errors.TimeoutError,
    urllib3_errors.ProtocolError,
    urllib3_errors.SSLError,
    urllib3_errors.ProxyError,
    OSError,
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
        self.url = self.host + MAIL_SEND_PATH
        self.headers = sdk_headers(api_key=self.api_key, host=self.host)
        self.pool: urllib3.PoolManager | None = None

    def open(self) -> bool:
        """Take this process's connection pool; True if this call did (Django's convention)."""
        if self.pool is not None:
            return False
        self.pool = _process_pools.for_url(self.url)
        return True

    def close(self) -> None:
        """Let go of the pool: its connections stay open for this process's next backend."""
        self.pool = None

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
        # Serialized exactly as python_http_client serializes the SDK's request_body.
        body = json.dumps(build_mail(message).get()).encode("utf-8")
        try:
            response = self.pool.request(
                "POST",
                self.url,
                body=body,
                headers=self.headers,
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                retries=False,
                redirect=False,
            )
        except TRANSPORT_ERRORS as error:
            # Refused, reset, closed before or during the answer, or no answer in time: the message
            # may or may not have reached SendGrid, and only the caller may decide to send it again.
            raise DeliveryTimeout(
                f"POST {self.url}: no answer within {self.timeout}s or connection failed ({error!r})"
            ) from error
        if not 200 <= response.status < 300:
            raise error_from_response(
                url=self.url, status=response.status, body=response.data, headers=response.headers
            )
        message.sendgrid_message_id = response.headers.get("X-Message-Id", "")


def sdk_headers(*, api_key: str, host: str) -> dict[str, str]:
    """The headers the SDK sends with a Mail Send: its own (key, User-Agent, Accept) + Content-Type."""
    headers = dict(SendGridAPIClient(api_key=api_key, host=host).client.request_headers)
    # python_http_client adds this one when it serializes a body to JSON.
    headers.setdefault("Content-Type", "application/json")
    return headers


def environment_proxy(url: str) -> str | None:
    """The proxy urllib (so the SDK) would use for `url`: *_PROXY, unless NO_PROXY names the host."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.netloc):
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and "://" not in proxy:
        proxy = "http://" + proxy  # urllib accepts "host:port"; urllib3 wants a URL
    return proxy


class _ProcessPools:
    """This process's connection pools, one per proxy (None: direct), shared by all threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[str | None, urllib3.PoolManager] = {}

    def for_url(self, url: str) -> urllib3.PoolManager:
        proxy = environment_proxy(url)
        with self._lock:
            if proxy not in self._pools:
                options = {"num_pools": 4, "maxsize": POOL_SIZE, "block": False}
                self._pools[proxy] = (
                    urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
                )
            return self._pools[proxy]


_process_pools = _ProcessPools()


def _new_pools_after_fork() -> None:
    # In a forked child: the inherited sockets are the parent's (two processes writing on one
    # connection would mix their requests), and the lock may have been held at the fork.
    global _process_pools
    _process_pools = _ProcessPools()


os.register_at_fork(after_in_child=_new_pools_after_fork)


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
    if status in ENDPOINT_ERRORS or 300 <= status < 400:
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
