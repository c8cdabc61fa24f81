"""Atom feeds: the daily trending papers (`/papers/feed/`) and any search (`/papers/feed/?q=LINE`).

Entry ids are tag URIs built from the paper's arXiv id and the site's configured host (SITE_URL), so
an entry keeps its id whichever page, feed or request address showed it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from newsletter.matching import InterestSyntaxError
from papers import selectors
from papers.authors import short_authors
from papers.models import Paper
from papers.search import paper_search
from papers.views import SEARCH_MAX_LENGTH

TRENDING_DAYS = 3  # featured days, not calendar days: a weekend without papers leaves the feed full
TRENDING_SIZE = 100
SEARCH_SIZE = 50
FEED_AUTHORS_SHOWN = 10
TAG_YEAR = 2026  # the tag URI's date: fixed forever, or every id would change


class PaperFeed(Feed):
    """One Atom feed of papers, built for one request."""

    feed_type = Atom1Feed

    def __init__(self, *, title: str, subtitle: str, link: str, papers: Sequence[Paper]) -> None:
        super().__init__()
        self.feed_title, self.feed_subtitle, self.feed_link = title, subtitle, link
        self.papers = papers

    def title(self) -> str:
        return self.feed_title

    def subtitle(self) -> str:
        return self.feed_subtitle

    def link(self) -> str:
        return self.feed_link

    def items(self) -> Sequence[Paper]:
        return self.papers

    def item_title(self, paper: Paper) -> str:
        return paper.title

    def item_description(self, paper: Paper) -> str:
        # Atom summaries of this feed type are HTML: escaped, an abstract stays the plain text it is.
        return escape(paper.abstract or paper.ai_summary)

    def item_link(self, paper: Paper) -> str:
        return reverse("papers:detail", kwargs={"arxiv_id": paper.arxiv_id})

    def item_guid(self, paper: Paper) -> str:
        return paper_tag_uri(paper.arxiv_id)

    item_guid_is_permalink = False

    def item_author_name(self, paper: Paper) -> str:
        return short_authors(paper.authors, FEED_AUTHORS_SHOWN)

    def item_pubdate(self, paper: Paper) -> dt.datetime | None:
        return paper.published_at

    def item_updateddate(self, paper: Paper) -> dt.datetime:
        return entry_updated(paper)

    def item_categories(self, paper: Paper) -> list[str]:
        return list(paper.categories or [])


def paper_tag_uri(arxiv_id: str) -> str:
    """`tag:papers.example.org,2026:paper/2605.05242`: stable for as long as the site's host is."""
    return f"tag:{urlsplit(settings.SITE_URL).hostname},{TAG_YEAR}:paper/{arxiv_id}"


def entry_updated(paper: Paper) -> dt.datetime:
    """When the paper became news here: first seen, or featured on Hugging Face if that came later."""
    if paper.featured_on is None:
        return paper.first_seen_at
    featured = dt.datetime.combine(paper.featured_on, dt.time.min, tzinfo=dt.UTC)
    return max(paper.first_seen_at, featured)


def paper_feed(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").replace("\x00", "").strip()
    if not query:
        return _trending_feed()(request)
    if len(query) > SEARCH_MAX_LENGTH:
        return _bad_request(f"The search is {len(query)} characters long; keep it under {SEARCH_MAX_LENGTH}.")
    try:
        result = paper_search(line=query, today=timezone.localdate(), limit=SEARCH_SIZE)
    except InterestSyntaxError as error:
        return _bad_request(f"Bad search “{query}”: {error.message} at character {error.position + 1}.")
    papers = selectors.papers_in_order(ids=[match.paper_id for match in result.matches])
    link = f"{reverse('papers:list')}?{request.GET.urlencode()}"
    subtitle = f"The papers matching “{query}”, best first, as a Paperbox digest would pick them."
    return PaperFeed(title=f"Paperbox: {query}", subtitle=subtitle, link=link, papers=papers)(request)


def _bad_request(message: str) -> HttpResponse:
    return HttpResponseBadRequest(f"{message}\n", content_type="text/plain; charset=utf-8")


def _trending_feed() -> PaperFeed:
    days = selectors.paper_recent_featured_days(count=TRENDING_DAYS)
    papers = (
        list(selectors.papers_trending(start=min(days), end=max(days), limit=TRENDING_SIZE)) if days else []
    )
    return PaperFeed(
        title="Paperbox: trending papers",
        subtitle="The papers of the latest days on Hugging Face Daily Papers, most upvoted first.",
        link=reverse("papers:list"),
        papers=papers,
    )
