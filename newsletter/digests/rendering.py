"""The digest email: subject, plain text and HTML, rendered fast enough for a million subscribers.

Speed comes from doing per-paper work once: a paper's escaped title, links, short author list and
snippet are prepared once per renderer (a sending chunk shares most papers), and the templates are
compiled once per process. The HTML template carries its styles inline already, so nothing is
inlined per email. Only the "matched" line and the links (signed per subscriber) differ per digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import get_template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from newsletter import mail
from newsletter.digests import editions
from newsletter.matching import explain_match
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from papers.authors import short_authors
from papers.models import Paper
from papers.records import paper_record_from_paper

SNIPPET_LENGTH = 300
CATEGORY = "digest"


@dataclass(slots=True)
class ItemView:
    paper: Paper
    interests: list[str] = field(default_factory=list)  # the lines that picked it, as typed


@dataclass(slots=True)
class DigestView:
    """Everything one digest email needs, loaded in bulk beforehand (no query while rendering)."""

    subscriber: Subscriber
    edition: str
    frequency: str
    items: list[ItemView]
    digest_id: int | None = None  # None for a preview that was never saved


@dataclass(slots=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    custom_args: dict[str, str]
    categories: list[str]


def snippet(text: str, length: int = SNIPPET_LENGTH) -> str:
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"


def date_label(*, edition: str) -> str:
    if editions.WEEK_MARK in edition:
        year, week = edition.split(editions.WEEK_MARK)
        return f"week {int(week)}, {year}"
    day = date.fromisoformat(edition)
    return f"{day:%A} {day.day} {day:%B %Y}"


def highlight(*, interests: list[str], terms: list[str]) -> tuple[SafeString, str]:
    """The "matched" line, as HTML (matched words in <mark>) and as text (in *stars*)."""
    wanted = {term.lower() for term in terms}
    html_parts, text_parts = [], []
    for interest in interests or terms:
        html_words, text_words = [], []
        for word in re.split(r"(\s+)", interest):
            if word.strip() and _word_matches(word, wanted):
                html_words.append(
                    f'<mark class="pb-mark" style="background-color:#fff1a8;color:#1a1d21;padding:0 2px;">{escape(word)}</mark>'
                )
                text_words.append(f"*{word}*")
            else:
                html_words.append(escape(word))
                text_words.append(word)
        html_parts.append("“" + "".join(html_words) + "”")
        text_parts.append("“" + "".join(text_words) + "”")
    return mark_safe(", ".join(html_parts)), ", ".join(text_parts)  # noqa: S308 - every part escaped above


def _word_matches(word: str, wanted: set[str]) -> bool:
    word = word.strip("\"'()“”").lower()
    if word in wanted:
        return True
    # The matcher stems ("agents" matches "agent"): a shared stem of 4+ letters counts.
    return any(
        len(term) >= 4 and (term.startswith(word[:4]) and word.startswith(term[:4])) for term in wanted
    )


class DigestRenderer:
    """Renders many digests; keep one per task or batch so papers are prepared once."""

    def __init__(self) -> None:
        self.subject_template = get_template("emails/digest-subject.txt")
        self.text_template = get_template("emails/digest-body.txt")
        self.html_template = get_template("emails/digest-body.html")
        self._papers: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._highlights: dict[tuple, tuple[SafeString, str]] = {}

    def paper_card(self, paper: Paper) -> tuple[dict[str, Any], dict[str, Any]]:
        """The paper's fields for the plain text and (escaped) for the HTML, prepared once."""
        cards = self._papers.get(paper.id)
        if cards is None:
            text = {
                "title": " ".join(paper.title.split()),
                "hf_url": paper.hf_url,
                "arxiv_url": paper.arxiv_url,
                "pdf_url": paper.pdf_url,
                "code_url": paper.github_repo or paper.project_page,
                "authors": short_authors(paper.authors),
                # Numbers as text skip localization on every render.
                "upvotes": str(paper.upvotes),
                "summary": snippet(paper.ai_summary or paper.abstract),
            }
            # Escaped once here and marked safe, so the template does not escape them again for
            # every subscriber who gets this paper.
            html = {key: _safe(value) for key, value in text.items()}
            cards = self._papers[paper.id] = (text, html)
        return cards

    def matched_line(self, item: ItemView) -> tuple[SafeString, str]:
        # Readers with the same interests matching the same paper share this line: the words are
        # found once per (interests, paper) in a chunk, not once per reader.
        key = (tuple(item.interests), item.paper.id)
        line = self._highlights.get(key)
        if line is None:
            terms = explain_match(item.interests, paper_record_from_paper(item.paper))
            line = self._highlights[key] = highlight(interests=item.interests, terms=terms)
        return line

    def context(self, view: DigestView) -> dict[str, Any]:
        subscriber = view.subscriber
        items, text_items = [], []
        for item in view.items:
            text, html = self.paper_card(item.paper)
            matched_html, matched_text = self.matched_line(item)
            items.append({**html, "matched": matched_html})
            text_items.append({**text, "matched": matched_text})
        return {
            "site_url": settings.SITE_URL,
            "date_label": date_label(edition=view.edition),
            "frequency_label": view.frequency,
            "count": len(items),
            "first_title": text_items[0]["title"] if text_items else "",
            "items": items,
            "text_items": text_items,
            "email": subscriber.email,
            "preferences_url": tokens.preferences_url(subscriber),
            "unsubscribe_url": tokens.unsubscribe_url(subscriber),
            "view_url": digest_view_url(subscriber=subscriber, digest_id=view.digest_id),
        }

    def render(self, view: DigestView) -> RenderedDigest:
        context = self.context(view)
        custom_args = {"subscriber_id": str(view.subscriber.id), "edition": view.edition}
        if view.digest_id is not None:
            # Events from SendGrid's webhook carry this back: how the sweep knows a digest went out.
            custom_args["digest_id"] = str(view.digest_id)
        return RenderedDigest(
            subject=mail.one_line(self.subject_template.render(context)),
            text=self.text_template.render(context),
            html=self.html_template.render(context),
            headers=mail.list_unsubscribe_headers(unsubscribe_url=context["unsubscribe_url"]),
            custom_args=custom_args,
            categories=[CATEGORY, f"{CATEGORY}-{view.frequency}"],
        )

    def message(self, view: DigestView) -> EmailMultiAlternatives:
        rendered = self.render(view)
        return mail.assemble_message(
            to=view.subscriber.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=rendered.headers,
            categories=rendered.categories,
            custom_args=rendered.custom_args,
        )


def _safe(text: str) -> SafeString:
    return mark_safe(escape(text))  # noqa: S308 - escaped right here


def digest_view_url(*, subscriber: Subscriber, digest_id: int | None) -> str:
    if digest_id is None:
        return ""
    token = tokens.make_token(subscriber, tokens.Purpose.VIEW_DIGEST, extra={"d": digest_id})
    return tokens.absolute_url(reverse("newsletter:digest_view", args=[token]))
