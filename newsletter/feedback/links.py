"""The one-click "more like this" / "less like this" links of a digest.

One signed token per paper of a digest (Purpose.RATE: the subscriber, the digest, the paper), the
direction in the path: /rate/<token>/more/ and /rate/<token>/less/. Following a link only shows a
page with a button; the button's POST records the rating (mail scanners open every link).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.urls import reverse

from newsletter.feedback.models import Direction
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from newsletter.subscriptions.tokens import TokenData, TokenInvalid


@dataclass(frozen=True, slots=True)
class RatingLinks:
    more_url: str
    less_url: str


@dataclass(frozen=True, slots=True)
class RatedPaper:
    """What a rating link names, read from its token."""

    digest_id: int
    paper_id: int


def rating_links(*, subscriber: Subscriber, digest_id: int, paper_id: int) -> RatingLinks:
    token = tokens.make_token(subscriber, tokens.Purpose.RATE, extra={"d": digest_id, "p": paper_id})
    prefix = _rating_url_prefix(settings.SITE_URL)
    return RatingLinks(
        more_url=f"{prefix}{token}/{Direction.MORE.slug}/", less_url=f"{prefix}{token}/{Direction.LESS.slug}/"
    )


@lru_cache(maxsize=4)
def _rating_url_prefix(site_url: str) -> str:
    """ "https://site/rate/": a digest has twenty of these links, and reverse() costs more than the
    signing, so it runs once per process (signed tokens need no quoting in a path)."""
    return tokens.absolute_url(
        reverse("newsletter:rate", args=["-", Direction.MORE.slug]).removesuffix("-/more/")
    )


def rating_path(token: str, direction: Direction) -> str:
    return reverse("newsletter:rate", args=[token, direction.slug])


def rated_paper(data: TokenData) -> RatedPaper:
    try:
        return RatedPaper(digest_id=int(data.extra["d"]), paper_id=int(data.extra["p"]))
    except (KeyError, TypeError, ValueError):
        raise TokenInvalid("rating link has a malformed payload") from None
