"""Signed links: every link in an email carries a token instead of a login.

A token is `django.core.signing.dumps` of the subscriber's random `key` (never the pk) and their
`token_version`, with one salt per purpose, so a confirmation token cannot be replayed as an
unsubscribe token and vice versa. Bumping `Subscriber.token_version` revokes every link sent so far.

A rating link (Purpose.RATE) names one paper of one digest; the direction, more or less like it, is
in the URL's path beside the token: both links of a paper are in the same email, so signing the
direction would protect nothing, and one token per paper halves the signing work of every digest.

The feed of a subscriber's digests has a token of its own purpose, which grants that feed and nothing
else (and no other token grants the feed). It also carries `Subscriber.feed_version`, so resetting
the feed's address revokes it alone; a new token_version (an address change, a resubscription)
revokes it with every other link.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from newsletter.models import Subscriber


class Purpose(StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"
    CHANGE_EMAIL = "change-email"
    VIEW_DIGEST = "view-digest"
    FEED = "digest-feed"
    RATE = "rate-paper"


# How long each kind of link works. Unsubscribe and view-digest links work as long as the
# subscriber's token_version is unchanged: an old digest must still let people leave.
MAX_AGE: dict[Purpose, dt.timedelta | None] = {
    Purpose.CONFIRM: dt.timedelta(days=7),
    Purpose.CHANGE_EMAIL: dt.timedelta(days=7),
    Purpose.MANAGE: dt.timedelta(days=365),
    Purpose.UNSUBSCRIBE: None,
    Purpose.VIEW_DIGEST: None,
    Purpose.FEED: None,
    # A digest's "more / less like this" links work as long as we keep the digest's papers.
    Purpose.RATE: dt.timedelta(days=settings.DIGEST_ITEM_RETENTION_DAYS),
}


class TokenError(Exception):
    """A link that cannot be used; `reason` tells the page which explanation to show."""

    reason = "invalid"


class TokenInvalid(TokenError):
    reason = "invalid"


class TokenExpired(TokenError):
    reason = "expired"


class TokenRevoked(TokenError):
    """Signed by us, but the subscriber is gone or has newer links (token_version bumped)."""

    reason = "revoked"


@dataclass(frozen=True)
class TokenData:
    key: uuid.UUID
    version: int
    extra: dict[str, Any] = field(default_factory=dict)


def _salt(purpose: Purpose | str) -> str:
    return f"paperbox.newsletter.{Purpose(purpose).value}"


def make_token(subscriber: Subscriber, purpose: Purpose | str, extra: dict[str, Any] | None = None) -> str:
    payload: dict[str, Any] = {"k": subscriber.key.hex, "v": subscriber.token_version}
    if extra:
        payload["x"] = extra
    return signing.dumps(payload, salt=_salt(purpose), compress=True)


def read_token(
    token: str, purpose: Purpose | str, max_age: dt.timedelta | str | None = "default"
) -> TokenData:
    """Check the signature and age of `token`; no database access.

    `max_age` defaults to the purpose's entry in MAX_AGE; pass None for no expiry.
    """
    if max_age == "default":
        max_age = MAX_AGE[Purpose(purpose)]
    try:
        payload = signing.loads(token, salt=_salt(purpose), max_age=max_age)
    except signing.SignatureExpired:
        raise TokenExpired(f"{Purpose(purpose).value} link expired") from None
    except signing.BadSignature:
        raise TokenInvalid(f"{Purpose(purpose).value} link has a bad signature") from None
    try:
        return TokenData(
            key=uuid.UUID(hex=payload["k"]), version=int(payload["v"]), extra=payload.get("x", {})
        )
    except (KeyError, TypeError, ValueError):
        raise TokenInvalid(f"{Purpose(purpose).value} link has a malformed payload") from None


def subscriber_from_token(
    token: str, purpose: Purpose | str, max_age: dt.timedelta | str | None = "default"
) -> tuple[Subscriber, TokenData]:
    """The subscriber a still-valid token belongs to; raises a TokenError subclass otherwise."""
    data = read_token(token, purpose, max_age)
    subscriber = Subscriber.objects.filter(key=data.key).first()
    if subscriber is None:
        raise TokenRevoked("the subscriber no longer exists")
    if not constant_time_compare(str(subscriber.token_version), str(data.version)):
        raise TokenRevoked("the link was revoked by a newer one")
    return subscriber, data


def subscriber_from_feed_token(token: str) -> Subscriber:
    """The subscriber whose digests a feed token shows, unless the feed's address was reset since."""
    subscriber, data = subscriber_from_token(token, Purpose.FEED)
    if not constant_time_compare(str(subscriber.feed_version), str(data.extra.get("f"))):
        raise TokenRevoked("the feed's address was reset")
    return subscriber


# Emails carry absolute URLs (SITE_URL); pages link and redirect with paths, which stay on whatever
# host the page was opened on.


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def confirm_url(subscriber: Subscriber) -> str:
    token = make_token(subscriber, Purpose.CONFIRM)
    return absolute_url(reverse("newsletter:confirm", args=[token]))


def preferences_path(subscriber: Subscriber) -> str:
    return reverse("newsletter:preferences", args=[make_token(subscriber, Purpose.MANAGE)])


def preferences_url(subscriber: Subscriber) -> str:
    return absolute_url(preferences_path(subscriber))


def unsubscribe_path(subscriber: Subscriber) -> str:
    return reverse("newsletter:unsubscribe", args=[make_token(subscriber, Purpose.UNSUBSCRIBE)])


def unsubscribe_url(subscriber: Subscriber) -> str:
    """The RFC 8058 one-click URL: a GET shows a confirm page, a POST unsubscribes."""
    return absolute_url(unsubscribe_path(subscriber))


def change_email_url(subscriber: Subscriber, new_email: str) -> str:
    token = make_token(subscriber, Purpose.CHANGE_EMAIL, extra={"email": new_email})
    return absolute_url(reverse("newsletter:change_email_confirm", args=[token]))


def feed_url(subscriber: Subscriber) -> str:
    """The private address of the subscriber's digests as an Atom feed (shown on the preferences page)."""
    token = make_token(subscriber, Purpose.FEED, extra={"f": subscriber.feed_version})
    return absolute_url(reverse("newsletter:digest_feed", args=[token]))
