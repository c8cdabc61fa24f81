"""SendGrid's signed Event Webhook: verify a request, parse its events, record them and act on them.

Three steps, each usable on its own (the view calls them in order):
  webhook_verify(...)          the ECDSA signature and the timestamp's age   -> WebhookSignatureError
  webhook_parse(body=...)      the JSON body to plain `ParsedEvent`s           -> WebhookPayloadError
  delivery_events_record(...)  store new events once and apply their effects, in one transaction

Effects: a hard bounce, or a drop for a bad address, marks the address `bounced`; a spam report
marks it `complained`; an unsubscribe unsubscribes; delivered/open/click feed the digest's counters.
Each of the first four also puts the address on the suppression list (delivery/suppressions.py),
in the same transaction as the status change, so it is never mailed again even if the subscriber
row is later erased, re-created or resubscribed. No event ever re-activates a subscriber. Event
types we do not know are stored and otherwise ignored.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from sendgrid.helpers.eventwebhook import EventWebhook

from newsletter.delivery.suppressions import suppressions_add
from newsletter.models import DeliveryEvent, Digest, Subscriber, SubscriberStatus, Suppression

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

# `dropped` means a bad address only for these reasons; others ("Exceeded max size",
# "Invalid SMTPAPI header"…) are about the message, not the person.
BAD_ADDRESS_DROP_REASONS = frozenset(
    {"bounced address", "invalid", "spam reporting address", "unsubscribed address"}
)
UNSUBSCRIBE_EVENTS = frozenset({"unsubscribe", "group_unsubscribe"})
# When one batch gives an address several reasons, the first of these is recorded.
SUPPRESSION_PRECEDENCE = (
    Suppression.Reason.COMPLAINED,
    Suppression.Reason.BOUNCED,
    Suppression.Reason.INVALID,
    Suppression.Reason.UNSUBSCRIBED,
)
# Statuses an event may move away from; bounced/complained/unsubscribed are final for events.
MAILABLE_STATUSES = (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED)

MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, datetime's limit
MAX_DB_ID = 2**63 - 1
MAX_NESTING = 32


class WebhookSignatureError(Exception):
    """The request is not provably from SendGrid (bad or missing signature, stale timestamp)."""


class WebhookConfigurationError(WebhookSignatureError):
    """SENDGRID_WEBHOOK_PUBLIC_KEY is missing or unusable: nothing can be verified."""


class WebhookPayloadError(Exception):
    """The body is not a list of well-formed SendGrid events; the message says which and why."""


@dataclass(frozen=True)
class ParsedEvent:
    sg_event_id: str
    event: str
    email: str
    timestamp: dt.datetime
    reason: str
    digest_id: int | None
    subscriber_id: int | None
    raw: dict[str, Any]

    @property
    def marks_bounced(self) -> bool:
        if self.event == "bounce":
            # type "blocked" is a temporary refusal by the receiving server, not a bad address.
            return self.raw.get("type", "bounce") != "blocked"
        return self._dropped_for_a_bad_address

    @property
    def _dropped_for_a_bad_address(self) -> bool:
        return self.event == "dropped" and self.reason.strip().lower() in BAD_ADDRESS_DROP_REASONS

    @property
    def suppression_reason(self) -> str | None:
        """Why this event means "never mail this address again", or None."""
        if self.event == "spamreport":
            return Suppression.Reason.COMPLAINED
        if self.event in UNSUBSCRIBE_EVENTS:
            return Suppression.Reason.UNSUBSCRIBED
        if self._dropped_for_a_bad_address:
            return Suppression.Reason.INVALID
        if self.marks_bounced:
            return Suppression.Reason.BOUNCED
        return None


@dataclass(frozen=True)
class RecordResult:
    received: int
    new: int


# --- Verification ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _verifier(public_key: str) -> EventWebhook:
    try:
        return EventWebhook(public_key)
    except (ValueError, TypeError) as error:
        raise WebhookConfigurationError(
            f"SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 DER P-256 public key ({error})"
        ) from None


def webhook_verify(
    *,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    public_key: str,
    max_age: int,
    now: float | None = None,
) -> None:
    """Raise unless `signature` is SendGrid's ECDSA signature of timestamp + body, made recently."""
    if not public_key:
        raise WebhookConfigurationError("SENDGRID_WEBHOOK_PUBLIC_KEY is not set: cannot verify events")
    verifier = _verifier(public_key)
    if not signature or not timestamp:
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} is not a Unix time: {timestamp[:40]!r}")
    # Too old, or too far in the future to be clock skew: a replay of a captured request.
    if max_age and abs((now if now is not None else time.time()) - int(timestamp)) > max_age:
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} {timestamp} is more than {max_age}s away from now")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WebhookPayloadError(f"the body is not UTF-8 ({error})") from None
    try:
        valid = verifier.verify_signature(payload, signature, timestamp)
    except (binascii.Error, ValueError, InvalidSignature):
        valid = False
    if not valid:
        raise WebhookSignatureError("the signature does not match the body and timestamp")


# --- Parsing --------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def webhook_parse(*, body: bytes) -> list[ParsedEvent]:
    """Every event in the body, or WebhookPayloadError naming the first bad one; nothing partial."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise WebhookPayloadError(f"the body is not JSON ({str(error)[:200]})") from None
    if not isinstance(data, list):
        raise WebhookPayloadError(f"expected a JSON list of events, got {type(data).__name__}")
    return [_parse_event(item, index) for index, item in enumerate(data)]


def _parse_event(item: Any, index: int) -> ParsedEvent:
    if not isinstance(item, dict):
        raise WebhookPayloadError(f"event {index}: expected an object, got {type(item).__name__}")
    _check_storable(item, f"event {index}", depth=0)
    return ParsedEvent(
        sg_event_id=_text(item, "sg_event_id", index, max_length=100),
        event=_text(item, "event", index, max_length=32),
        email=_text(item, "email", index, max_length=254, required=False),
        timestamp=_timestamp(item, index),
        reason=_text(item, "reason", index, max_length=10_000, required=False),
        digest_id=_id(item, "digest_id", index),
        subscriber_id=_id(item, "subscriber_id", index),
        raw=item,
    )


def _check_storable(value: Any, where: str, *, depth: int) -> None:
    """Refuse what the database would refuse later with a 500: NUL, lone surrogates, inf/NaN."""
    if depth > MAX_NESTING:
        raise WebhookPayloadError(f"{where}: nested deeper than {MAX_NESTING} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise WebhookPayloadError(f"{where}: text contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise WebhookPayloadError(f"{where}: text contains an unpaired surrogate") from None
    elif isinstance(value, float) and not math.isfinite(value):
        raise WebhookPayloadError(f"{where}: number out of range")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, where, depth=depth + 1)
            _check_storable(item, f"{where}.{key[:40]}", depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, where, depth=depth + 1)


def _text(item: dict, key: str, index: int, *, max_length: int, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise WebhookPayloadError(f"event {index}: {key!r} must be a non-empty string, got {value!r:.60}")
    if len(value) > max_length:
        raise WebhookPayloadError(f"event {index}: {key!r} is longer than {max_length} characters")
    return value


def _timestamp(item: dict, index: int) -> dt.datetime:
    value = item.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIMESTAMP:
        raise WebhookPayloadError(f"event {index}: 'timestamp' must be a Unix time, got {value!r:.60}")
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def _id(item: dict, key: str, index: int) -> int | None:
    """Our custom args come back as strings (SendGrid's custom_args are strings); ints are accepted."""
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DB_ID:
        raise WebhookPayloadError(f"event {index}: {key!r} must be a positive integer id, got {value!r:.60}")
    return value


# --- Recording ------------------------------------------------------------------------------


def delivery_events_record(*, events: list[ParsedEvent]) -> RecordResult:
    """Store the events not seen before (by sg_event_id) and apply the effects of those only."""
    first_seen: dict[str, ParsedEvent] = {}
    for event in events:
        first_seen.setdefault(event.sg_event_id, event)
    unique = list(first_seen.values())
    with transaction.atomic():
        existing = set(
            DeliveryEvent.objects.filter(sg_event_id__in=[e.sg_event_id for e in unique]).values_list(
                "sg_event_id", flat=True
            )
        )
        fresh = [event for event in unique if event.sg_event_id not in existing]
        inserted = _insert(fresh)
        _apply_subscriber_effects(inserted)
        _suppress_addresses(inserted)
        _apply_digest_counters(inserted)
    return RecordResult(received=len(events), new=len(inserted))


def _insert(events: list[ParsedEvent]) -> list[ParsedEvent]:
    """bulk_create the events; return those this call inserted (a concurrent request may win some)."""
    if not events:
        return []
    digest_owner = dict(
        Digest.objects.filter(id__in={e.digest_id for e in events if e.digest_id}).values_list(
            "id", "subscriber_id"
        )
    )
    subscriber_ids = set(
        Subscriber.objects.filter(id__in={e.subscriber_id for e in events if e.subscriber_id}).values_list(
            "id", flat=True
        )
    )
    # One stamp for the batch: after ignore_conflicts, the rows carrying it are the ones we wrote.
    stamp = _unique_stamp()
    DeliveryEvent.objects.bulk_create(
        [_row(e, digest_owner, subscriber_ids, stamp) for e in events], ignore_conflicts=True, batch_size=500
    )
    ours = set(
        DeliveryEvent.objects.filter(
            sg_event_id__in=[e.sg_event_id for e in events], received_at=stamp
        ).values_list("sg_event_id", flat=True)
    )
    return [event for event in events if event.sg_event_id in ours]


def _unique_stamp() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC)


def _row(event: ParsedEvent, digest_owner: dict[int, int], subscriber_ids: set[int], stamp) -> DeliveryEvent:
    # Ids from custom args may point at rows deleted since (or sent by another install using
    # the same SendGrid account): keep the event, drop the dangling link.
    digest_id = event.digest_id if event.digest_id in digest_owner else None
    subscriber_id = event.subscriber_id if event.subscriber_id in subscriber_ids else None
    if subscriber_id is None and digest_id is not None:
        subscriber_id = digest_owner[digest_id]
    return DeliveryEvent(
        sg_event_id=event.sg_event_id,
        event=event.event,
        email=event.email,
        timestamp=event.timestamp,
        reason=event.reason,
        digest_id=digest_id,
        subscriber_id=subscriber_id,
        raw=event.raw,
        received_at=stamp,
    )


def _apply_subscriber_effects(events: list[ParsedEvent]) -> None:
    bounced = {e.email.lower() for e in events if e.email and e.marks_bounced}
    complained = {e.email.lower() for e in events if e.email and e.event == "spamreport"}
    unsubscribed: dict[str, dt.datetime] = {}
    for e in events:
        if e.email and e.event in UNSUBSCRIBE_EVENTS:
            unsubscribed.setdefault(e.email.lower(), e.timestamp)
    # A complaint outranks everything; a bounce outranks an unsubscribe (both stop mail).
    _subscribers_by_email(complained).exclude(status=SubscriberStatus.COMPLAINED).update(
        status=SubscriberStatus.COMPLAINED
    )
    _subscribers_by_email(bounced).filter(status__in=MAILABLE_STATUSES).update(
        status=SubscriberStatus.BOUNCED
    )
    for when, emails in _group_by_value(unsubscribed).items():
        _subscribers_by_email(emails).filter(status__in=MAILABLE_STATUSES).update(
            status=SubscriberStatus.UNSUBSCRIBED, unsubscribed_at=when
        )


def _suppress_addresses(events: list[ParsedEvent]) -> None:
    reasons: dict[str, str] = {}
    for e in events:
        if e.email and (reason := e.suppression_reason):
            known = reasons.get(e.email.lower())
            if known is None or SUPPRESSION_PRECEDENCE.index(reason) < SUPPRESSION_PRECEDENCE.index(known):
                reasons[e.email.lower()] = reason
    if reasons:
        suppressions_add(reasons=reasons)


def _subscribers_by_email(emails: Iterable[str]):
    return Subscriber.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=list(emails))


def _apply_digest_counters(events: list[ParsedEvent]) -> None:
    linked = [e for e in events if e.digest_id is not None]
    delivered: dict[int, dt.datetime] = {}
    opens: dict[int, int] = defaultdict(int)
    clicks: dict[int, int] = defaultdict(int)
    for e in linked:
        if e.event == "delivered":
            delivered[e.digest_id] = min(e.timestamp, delivered.get(e.digest_id, e.timestamp))
        elif e.event == "open":
            opens[e.digest_id] += 1
        elif e.event == "click":
            clicks[e.digest_id] += 1
    # Grouped by value: one UPDATE per distinct timestamp or increment, not one per digest.
    for when, ids in _group_by_value(delivered).items():
        Digest.objects.filter(id__in=ids, delivered_at__isnull=True).update(delivered_at=when)
    for count, ids in _group_by_value(opens).items():
        Digest.objects.filter(id__in=ids).update(open_count=F("open_count") + count)
    for count, ids in _group_by_value(clicks).items():
        Digest.objects.filter(id__in=ids).update(click_count=F("click_count") + count)


def _group_by_value(mapping: dict) -> dict[Any, list]:
    groups: dict[Any, list] = defaultdict(list)
    for key, value in mapping.items():
        groups[value].append(key)
    return groups
