"""arXiv listing page of one category's new submissions: `GET https://arxiv.org/list/<category>/new`.

The page has several `<dl id='articles'>` sections (new submissions, cross-lists, replacements),
each headed by an h3; all are read. Cross-lists are kept and marked; replacements are old papers
with a new version, so they are not new. A day without announcements says "No updates today".
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning

from papers.sources.decoding import decode_utf8, midnight_utc
from papers.sources.errors import InvalidArxivId, ParseError
from papers.sources.records import (
    ANNOUNCE_CROSS,
    ANNOUNCE_NEW,
    PaperRecord,
    clean_text,
    normalize_arxiv_id,
)

SOURCE = "arxiv-list"
CATEGORY_IN_PARENS = re.compile(r"\(([a-z-]+(?:\.[A-Za-z-]+)?)\)")
LISTING_DATE = re.compile(r"new listings for \w+,\s+(\d{1,2} \w+ \d{4})", re.IGNORECASE)
EMPTY_NOTICES = ("no updates today", "showing 0 of 0 entries")


def listing_url(*, base_url: str, category: str) -> str:
    return f"{base_url}/list/{category}/new"


def parse_listing(body: bytes, *, url: str, category: str | None = None) -> list[PaperRecord]:
    text = decode_utf8(body, url=url)
    with warnings.catch_warnings():
        # arXiv serves XHTML with an <?xml?> prolog; the HTML parser reads it fine.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(text, "lxml")
    sections = soup.find_all("dl", id="articles")
    if not sections:
        if _says_empty(soup):
            return []
        raise ParseError(
            url, f"no <dl id='articles'> section and no 'No updates today' notice in {len(body)} bytes"
        )
    published_at = _listing_published_at(soup)
    records = []
    for section in sections:
        for position, term in enumerate(section.find_all("dt")):
            kind = _entry_kind(term)
            if kind is not None:
                records.append(
                    _entry_to_record(term, url=url, position=position, kind=kind, published_at=published_at)
                )
    return records


def _says_empty(soup: BeautifulSoup) -> bool:
    text = soup.get_text(" ").lower()
    return any(notice in text for notice in EMPTY_NOTICES)


def _listing_published_at(soup: BeautifulSoup) -> str | None:
    """The announcement day from "Showing new listings for Wednesday, 2 September 2026"."""
    match = LISTING_DATE.search(soup.get_text(" "))
    if not match:
        return None
    try:
        return midnight_utc(datetime.strptime(match.group(1), "%d %B %Y").date())
    except ValueError:
        return None


def _entry_kind(term: Tag) -> str | None:
    """ "new", "cross", or None for a replacement; from the section heading and the entry's own marks."""
    heading = term.find_previous("h3")
    section = heading.get_text(" ").lower() if heading else ""
    marks = term.get_text(" ").lower()
    if "replace" in section or "(replaced)" in marks:
        return None
    if "cross" in section or "cross-list" in marks:
        return ANNOUNCE_CROSS
    return ANNOUNCE_NEW


def _entry_to_record(
    term: Tag, *, url: str, position: int, kind: str, published_at: str | None
) -> PaperRecord:
    arxiv_id = _entry_arxiv_id(term, url=url, position=position)
    details = term.find_next_sibling("dd")
    title_div = details.select_one("div.list-title") if details else None
    title = _without_descriptor(title_div)
    if not title:
        raise ParseError(url, f"entry {position} ({arxiv_id}): no div.list-title in its <dd>")
    abstract = details.select_one("p.mathjax")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        source=SOURCE,
        abstract=clean_text(abstract.get_text(" ")) if abstract else "",
        authors=[clean_text(a.get_text(" ")) for a in details.select("div.list-authors a")],
        published_at=published_at,
        categories=_categories(details.select_one("div.list-subjects")),
        announce_type=kind,
    )


def _entry_arxiv_id(term: Tag, *, url: str, position: int) -> str:
    link = term.select_one('a[title="Abstract"]') or term.select_one('a[href^="/abs/"]')
    raw = link.get("href", "").removeprefix("/abs/") if link else ""
    try:
        return normalize_arxiv_id(raw)
    except InvalidArxivId:
        raise ParseError(url, f"entry {position}: no abstract link naming an arXiv id in its <dt>") from None


def _without_descriptor(element: Tag | None) -> str:
    """`<span class='descriptor'>Title:</span> NFTrig` → `NFTrig`."""
    if element is None:
        return ""
    return clean_text(
        "".join(
            child.get_text(" ") if isinstance(child, Tag) else str(child)
            for child in element.children
            if not (isinstance(child, Tag) and "descriptor" in child.get("class", []))
        )
    )


def _categories(subjects: Tag | None) -> list[str]:
    """Primary first: "Human-Computer Interaction (cs.HC); Graphics (cs.GR)" → ["cs.HC", "cs.GR"]."""
    if subjects is None:
        return []
    found = CATEGORY_IN_PARENS.findall(subjects.get_text(" "))
    return list(dict.fromkeys(found))
