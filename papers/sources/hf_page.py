"""Hugging Face Daily Papers page: `GET /papers/date/YYYY-MM-DD`.

The page carries its data as JSON in the `data-props` of `div[data-target="DailyPapers"]`, each
entry shaped like the API's. The card markup has changed before (h3 to article, 2025), so the blob
is preferred and the `article` cards are only a fallback, with fewer fields (no abstract, authors).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from bs4 import BeautifulSoup, SoupStrainer, Tag

from papers.sources.decoding import decode_utf8, load_json
from papers.sources.errors import InvalidArxivId, ParseError
from papers.sources.hf_api import entries_to_records
from papers.sources.records import PaperRecord, clean_text, clean_url, normalize_arxiv_id

SOURCE = "hf"
BLOB_SELECTOR = 'div[data-target="DailyPapers"]'
CARD_LINK_SELECTOR = 'a[href^="/papers/"]'
DIGITS = re.compile(r"^\d+$")


def page_url(*, base_url: str, day: date) -> str:
    return f"{base_url}/papers/date/{day.isoformat()}"


def parse_daily_papers_page(body: bytes, *, url: str, category: str | None = None) -> list[PaperRecord]:
    """All papers of one Daily Papers page; an empty `dailyPapers` list is a day without papers."""
    text = decode_utf8(body, url=url)
    # Parsing only the blob's div first is several times faster than building the whole tree.
    blob_soup = BeautifulSoup(
        text, "lxml", parse_only=SoupStrainer("div", attrs={"data-target": "DailyPapers"})
    )
    blob = blob_soup.select_one(BLOB_SELECTOR)
    if blob is not None:
        return entries_to_records(_blob_entries(blob, url=url), url=url, source=SOURCE)
    cards = [
        card
        for card in BeautifulSoup(text, "lxml").find_all("article")
        if card.select_one(CARD_LINK_SELECTOR)
    ]
    if not cards:
        raise ParseError(
            url,
            f"neither the {BLOB_SELECTOR} data-props blob nor any paper card (article with "
            f"{CARD_LINK_SELECTOR}) found in {len(body)} bytes; "
            "the page layout changed or the body is truncated",
        )
    return [_card_to_record(card, url=url, position=i) for i, card in enumerate(cards)]


def _blob_entries(blob: Tag, *, url: str) -> list[Any]:
    props = blob.get("data-props")
    if not isinstance(props, str) or not props.strip():
        raise ParseError(url, f"{BLOB_SELECTOR} has no data-props attribute")
    data = load_json(props, url=url, what=f"{BLOB_SELECTOR} data-props")
    entries = data.get("dailyPapers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ParseError(url, f"{BLOB_SELECTOR} data-props has no 'dailyPapers' list")
    return entries


def _card_to_record(card: Tag, *, url: str, position: int) -> PaperRecord:
    arxiv_id = _card_arxiv_id(card, url=url, position=position)
    heading = card.find("h3")
    title = clean_text(heading.get_text(" ")) if heading else ""
    if not title:
        raise ParseError(url, f"card {position} ({arxiv_id}): no h3 title")
    image = card.find("img")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        source=SOURCE,
        upvotes=_card_count(card.select_one("div.leading-none")),
        comment_count=_card_count(card.select_one('a[href$="#community"]')),
        thumbnail=clean_url(image.get("src")) if image else "",
    )


def _card_arxiv_id(card: Tag, *, url: str, position: int) -> str:
    href = card.select_one(CARD_LINK_SELECTOR)["href"]
    raw = href.removeprefix("/papers/").split("#")[0].split("?")[0]
    try:
        return normalize_arxiv_id(raw)
    except InvalidArxivId:
        raise ParseError(url, f"card {position}: link {href!r} does not name an arXiv id") from None


def _card_count(element: Tag | None) -> int | None:
    text = clean_text(element.get_text(" ")) if element else ""
    return int(text) if DIGITS.match(text) else None
