"""Every paper source by name: how to build its URL and which pure parser reads its body.

Names are the values of settings.PAPER_SOURCES and of `fetch_papers --source`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from papers.sources import arxiv_list, arxiv_rss, hf_api, hf_page
from papers.sources.records import PaperRecord

Parser = Callable[..., list[PaperRecord]]


@dataclass(frozen=True)
class Source:
    name: str
    parse: Parser
    # arXiv feeds are per category and always show the latest announcement (no date in the URL);
    # Hugging Face pages are per date.
    per_category: bool
    base_setting: str

    def url(self, *, base_url: str, day: date, category: str | None) -> str:
        builders = {
            "hf": lambda: hf_page.page_url(base_url=base_url, day=day),
            "hf-api": lambda: hf_api.api_url(base_url=base_url, day=day),
            "arxiv-rss": lambda: arxiv_rss.feed_url(base_url=base_url, category=category),
            "arxiv-list": lambda: arxiv_list.listing_url(base_url=base_url, category=category),
        }
        return builders[self.name]()


SOURCES: dict[str, Source] = {
    "hf": Source("hf", hf_page.parse_daily_papers_page, per_category=False, base_setting="HF_BASE_URL"),
    "hf-api": Source("hf-api", hf_api.parse_daily_papers, per_category=False, base_setting="HF_BASE_URL"),
    "arxiv-rss": Source(
        "arxiv-rss", arxiv_rss.parse_feed, per_category=True, base_setting="ARXIV_RSS_BASE_URL"
    ),
    "arxiv-list": Source(
        "arxiv-list", arxiv_list.parse_listing, per_category=True, base_setting="ARXIV_BASE_URL"
    ),
}


def detect_source(body: bytes) -> str | None:
    """Guess which source a saved page came from, for `fetch_papers --file` without `--source`."""
    head = body[:4096].lstrip()
    if head.startswith(b"["):
        return "hf-api"
    if b"<rss" in head:
        return "arxiv-rss"
    if b'data-target="DailyPapers"' in body or (b"/papers/" in body and b"<article" in body):
        return "hf"
    if b"id='articles'" in body or b'id="articles"' in body or b"/list/" in head:
        return "arxiv-list"
    return None
