"""The digest email: subject, plain text and HTML, rendered fast enough for a million subscribers.

Papers come grouped under the interest line that picked them, each with its explanation
(explanations.py: the words it matched); the subject names the lines that picked the most papers.

Speed comes from doing per-paper work once: a paper's escaped title, links, short author list and
snippet are prepared once per renderer (a sending chunk shares most papers), the words each line
matched in each paper are found once per process (explanations.py), and the templates are compiled
once per process. The HTML template
carries its styles inline already, so nothing is inlined per email. Only the groups, the
explanations and the links (signed per subscriber, and per paper for "more / less like this")
differ per digest.
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
from newsletter.digests.explanations import ItemExplainer
from newsletter.feedback.links import rating_links
from newsletter.matching import Source, line_kind
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from papers.authors import short_authors
from papers.models import Paper

SNIPPET_LENGTH = 300
# The subject ("Paperbox · 5 papers on sparse autoencoders, LLM agents · 30 Nov") stays short enough
# for a phone's inbox: two interests at most, each cut at a word, or one paper's shortened title.
SUBJECT_INTERESTS = 2
INTEREST_LABEL_LENGTH = 28
SUBJECT_TITLE_LENGTH = 60
CATEGORY = "digest"


# The heading of the trending papers a digest adds under the reader's own picks.
ALSO_TRENDING_HEADING = "Also trending"


@dataclass(slots=True)
class ItemView:
    paper: Paper
    interests: list[str] = field(default_factory=list)  # the lines that picked it, as typed
    source: str = Source.KEYWORD  # how it was picked (matching.Source)
    liked: Paper | None = None  # the paper it is close to ("like <title>", "because you liked <title>")


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


def short_date(*, edition: str) -> str:
    """The subject's date: "30 Nov" for a day, "week of 16 Nov" (its Monday) for an ISO week."""
    if editions.WEEK_MARK in edition:
        year, week = edition.split(editions.WEEK_MARK)
        monday = date.fromisocalendar(int(year), int(week), 1)
        return f"week of {monday.day} {monday:%b}"
    day = date.fromisoformat(edition)
    return f"{day.day} {day:%b}"


# An interest as a subject names it: the line without the language's syntax.
_EXCLUDED = re.compile(r'(?:^|(?<=\s))-(?:"[^"]*"?|\([^)]*\)?|\S+)')
_FIELD = re.compile(r"(?i)\b(?:title|abstract|author):")
_SYNTAX = re.compile(r'["()*]')
_OR = re.compile(r"\bOR\b")


def interest_label(text: str) -> str:
    """ "sparse autoencoders" for `title:"sparse autoencoder*" -survey`: no exclusions, fields, quotes,
    stars or brackets, cut at a word; a description without its "~", an example as "like <its id>"."""
    kind = line_kind(text)
    if kind == Source.MEANING:
        return snippet(text.strip().lstrip("~").strip(), INTEREST_LABEL_LENGTH)
    if kind == Source.EXAMPLE:
        return f"like {text.split(':', 1)[1].strip()}"
    label = _SYNTAX.sub("", _FIELD.sub("", _EXCLUDED.sub(" ", text)))
    return snippet(_OR.sub("or", label), INTEREST_LABEL_LENGTH)


def subject_topic(items: list[ItemView]) -> str:
    """ "5 papers on sparse autoencoders, LLM agents": the lines that picked the most papers (a tie goes
    to the line with the better paper). One paper is named by its title."""
    if len(items) == 1:
        return snippet(items[0].paper.title, SUBJECT_TITLE_LENGTH)
    if all(item.source == Source.TRENDING for item in items):
        return f"{len(items)} trending papers"
    picked: dict[str, int] = {}  # in the order of each line's best paper, since items come best first
    for item in items:
        for interest in item.interests:
            picked[interest] = picked.get(interest, 0) + 1
    most_first = sorted(picked, key=picked.__getitem__, reverse=True)  # stable: ties keep that order
    labels = [label for label in dict.fromkeys(map(interest_label, most_first)) if label]
    papers = f"{len(items)} papers"
    if not labels:
        return f"{papers} for you"
    more = " and more" if len(labels) > SUBJECT_INTERESTS else ""
    return f"{papers} on {', '.join(labels[:SUBJECT_INTERESTS])}{more}"


@dataclass(slots=True)
class ItemGroup:
    interest: str  # the line that picked these papers (first, when several did), as typed
    items: list[ItemView]


def group_items(items: list[ItemView]) -> list[ItemGroup]:
    """Papers under the line that picked them, a paper several lines picked under its first, and
    trending papers under "Also trending". Items come best first, so each group keeps the score order
    and groups come in the order of their best paper (trending ones come last: the planner adds them
    after the reader's picks)."""
    groups: dict[tuple[bool, str], ItemGroup] = {}
    for item in items:
        trending = item.source == Source.TRENDING
        heading = ALSO_TRENDING_HEADING if trending else (item.interests[0] if item.interests else "")
        group = groups.get((trending, heading))
        if group is None:
            group = groups[(trending, heading)] = ItemGroup(heading, [])
        group.items.append(item)
    return list(groups.values())


class DigestRenderer:
    """Renders many digests; keep one per task or batch so papers are prepared once."""

    def __init__(self) -> None:
        self.subject_template = get_template("emails/digest-subject.txt")
        self.text_template = get_template("emails/digest-body.txt")
        self.html_template = get_template("emails/digest-body.html")
        self.explainer = ItemExplainer()
        self._papers: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

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

    def groups(self, view: DigestView) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The papers in groups, for the HTML and for the text, numbered in reading order. A digest
        whose papers all come from one line has one group without a heading."""
        groups = group_items(view.items)
        headed = len(groups) > 1
        html_groups, text_groups, number = [], [], 0
        for group in groups:
            heading = group.interest if headed else ""
            html_items, text_items = [], []
            for item in group.items:
                number += 1
                text, html = self.paper_card(item.paper)
                why = self.explainer.explain(
                    interests=item.interests,
                    paper=item.paper,
                    heading=heading,
                    source=item.source,
                    liked=item.liked,
                )
                links = self.rating_links(view, item.paper)
                html_items.append({**html, **links, "number": number, "why": why.html})
                text_items.append({**text, **links, "number": number, "why": why.text})
            html_groups.append({"heading": heading, "items": html_items})
            text_groups.append({"heading": heading, "items": text_items})
        return html_groups, text_groups

    @staticmethod
    def rating_links(view: DigestView, paper: Paper) -> dict[str, str]:
        """The paper's "more / less like this" links; none in a preview, which has no digest to rate from."""
        if view.digest_id is None:
            return {}
        links = rating_links(subscriber=view.subscriber, digest_id=view.digest_id, paper_id=paper.id)
        return {"more_url": links.more_url, "less_url": links.less_url}

    def context(self, view: DigestView) -> dict[str, Any]:
        subscriber = view.subscriber
        html_groups, text_groups = self.groups(view)
        return {
            "site_url": settings.SITE_URL,
            "date_label": date_label(edition=view.edition),
            "short_date": short_date(edition=view.edition),
            "subject_topic": subject_topic(view.items),
            "frequency_label": view.frequency,
            "count": len(view.items),
            "first_title": text_groups[0]["items"][0]["title"] if text_groups else "",
            "groups": html_groups,
            "text_groups": text_groups,
            "email": subscriber.email,
            "preferences_url": tokens.preferences_url(subscriber),
            "unsubscribe_url": tokens.unsubscribe_url(subscriber),
            "view_url": digest_view_url(subscriber=subscriber, digest_id=view.digest_id),
        }

    def subject(self, view: DigestView) -> str:
        """The subject line alone (the feed of a subscriber's digests titles each entry with it)."""
        context = {"subject_topic": subject_topic(view.items), "short_date": short_date(edition=view.edition)}
        return mail.one_line(self.subject_template.render(context))

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
