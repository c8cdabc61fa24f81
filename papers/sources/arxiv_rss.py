"""arXiv RSS feed of one category's new announcements: `GET https://rss.arxiv.org/rss/<category>`.

The feed has `<skipDays>` Saturday and Sunday: a channel without items is a normal empty day.
Each item says its `arxiv:announce_type`: new and cross-lists are kept, replacements are not new.
"""

from __future__ import annotations

import re
from datetime import UTC

from lxml import etree

from papers.sources.decoding import rfc2822_datetime
from papers.sources.errors import InvalidArxivId, ParseError
from papers.sources.records import (
    ANNOUNCE_CROSS,
    ANNOUNCE_NEW,
    PaperRecord,
    clean_text,
    normalize_arxiv_id,
)

SOURCE = "arxiv-rss"
NAMESPACES = {"arxiv": "http://arxiv.org/schemas/atom", "dc": "http://purl.org/dc/elements/1.1/"}
KEPT_ANNOUNCE_TYPES = {"new": ANNOUNCE_NEW, "cross": ANNOUNCE_CROSS}
ABSTRACT_MARKER = re.compile(r"\bAbstract:\s*")


def feed_url(*, base_url: str, category: str) -> str:
    return f"{base_url}/rss/{category}"


def parse_feed(body: bytes, *, url: str, category: str | None = None) -> list[PaperRecord]:
    channel = _channel(body, url=url)
    records = []
    for position, item in enumerate(channel.iterfind("item")):
        announce_type = (item.findtext("arxiv:announce_type", "", NAMESPACES) or "new").strip()
        if announce_type in KEPT_ANNOUNCE_TYPES:
            records.append(_item_to_record(item, url=url, position=position, announce_type=announce_type))
    return records


def _channel(body: bytes, *, url: str) -> etree._Element:
    # No entities, no network: the feed is untrusted input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as error:
        raise ParseError(url, f"not well-formed XML ({error.msg}; line {error.lineno}; truncated?)") from None
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise ParseError(url, f"expected an RSS document with <rss><channel>, got root <{root.tag}>")
    return channel


def _item_to_record(item: etree._Element, *, url: str, position: int, announce_type: str) -> PaperRecord:
    raw_id = (item.findtext("guid") or item.findtext("link") or "").strip()
    try:
        arxiv_id = normalize_arxiv_id(raw_id)
    except InvalidArxivId:
        raise ParseError(url, f"item {position}: guid/link {raw_id!r} does not name an arXiv id") from None
    title = clean_text(item.findtext("title"))
    if not title:
        raise ParseError(url, f"item {position} ({arxiv_id}): <title> is missing or empty")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        source=SOURCE,
        abstract=_abstract(item.findtext("description") or ""),
        authors=_authors(item.findtext("dc:creator", "", NAMESPACES)),
        published_at=_rfc2822_to_iso(item.findtext("pubDate")),
        categories=[clean_text(c.text) for c in item.iterfind("category") if clean_text(c.text)],
        announce_type=KEPT_ANNOUNCE_TYPES[announce_type],
    )


def _abstract(description: str) -> str:
    """The description is `arXiv:ID Announce Type: new \\nAbstract: <text>`; keep the text."""
    parts = ABSTRACT_MARKER.split(description, maxsplit=1)
    return clean_text(parts[-1])


def _authors(creators: str) -> list[str]:
    return [name for name in (clean_text(part) for part in creators.split(",")) if name]


def _rfc2822_to_iso(value: str | None) -> str | None:
    moment = rfc2822_datetime(value)
    return moment.astimezone(UTC).isoformat() if moment else None
