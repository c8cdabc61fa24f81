"""A subscriber's own digests as an Atom feed, at a private address (tokens.feed_url).

Whoever holds the address can read the feed, so it shows the digests sent to that subscriber and
nothing else about them: no address, no preferences or unsubscribe link. Each entry is one sent
digest: its email subject as the title, its "view in browser" page as the link, and its papers as
the summary. The address is shown on the preferences page only, and can be reset there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac
from django.utils.feedgenerator import Atom1Feed

from newsletter.digests.rendering import DigestRenderer, DigestView, digest_view_url, group_items
from newsletter.digests.selectors import sent_digest_views
from newsletter.models import Digest, Subscriber
from newsletter.subscriptions import tokens
from newsletter.subscriptions.token_pages import link_invalid, private

FEED_DIGESTS = 30


@dataclass(frozen=True, slots=True)
class FeedEntry:
    digest: Digest
    view: DigestView


def tag_uri(*, day: dt.date, specific: str) -> str:
    """An RFC 4151 id: stable whatever the entry's title or link become (a link carries a token)."""
    return f"tag:{urlsplit(settings.SITE_URL).hostname},{day:%Y-%m-%d}:{specific}"


class SubscriberDigestsFeed(Feed):
    feed_type = Atom1Feed
    title = "Your Paperbox digests"
    subtitle = "The digests Paperbox sent you. This address is private: keep it to yourself."
    author_name = "Paperbox"

    def __init__(self) -> None:
        super().__init__()
        self.renderer = DigestRenderer()

    def get_object(self, request: HttpRequest, *, subscriber: Subscriber) -> Subscriber:
        return subscriber

    def link(self) -> str:
        return settings.SITE_URL.rstrip("/") + "/"

    def feed_guid(self, subscriber: Subscriber) -> str:
        # Opaque: the same for every address the feed has had, and not the subscriber's key.
        opaque = salted_hmac("paperbox.digest-feed.id", subscriber.key.hex).hexdigest()[:32]
        return tag_uri(day=subscriber.created_at.date(), specific=f"digest-feed/{opaque}")

    def items(self, subscriber: Subscriber) -> list[FeedEntry]:
        pairs = sent_digest_views(subscriber_id=subscriber.id, limit=FEED_DIGESTS)
        return [FeedEntry(digest, view) for digest, view in pairs]

    def item_title(self, entry: FeedEntry) -> str:
        return self.renderer.subject(entry.view)

    def item_link(self, entry: FeedEntry) -> str:
        return digest_view_url(subscriber=entry.view.subscriber, digest_id=entry.digest.id)

    def item_guid(self, entry: FeedEntry) -> str:
        return tag_uri(day=entry.digest.created_at.date(), specific=f"digest/{entry.digest.id}")

    item_guid_is_permalink = False

    def item_description(self, entry: FeedEntry) -> str:
        groups = [
            {"heading": group.interest, "papers": [self.renderer.paper_card(i.paper)[0] for i in group.items]}
            for group in group_items(entry.view.items)
        ]
        return render_to_string("newsletter/digest_feed_summary.html", {"groups": groups})

    def item_pubdate(self, entry: FeedEntry) -> dt.datetime:
        return entry.digest.sent_at

    def item_updateddate(self, entry: FeedEntry) -> dt.datetime:
        return entry.digest.sent_at


def digest_feed(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = tokens.subscriber_from_feed_token(token)
    except tokens.TokenError as error:
        return link_invalid(request, error.reason, status=404)
    # Private like every page a token opens: not stored by shared caches, not indexed, no Referer.
    return private(SubscriberDigestsFeed()(request, subscriber=subscriber))
