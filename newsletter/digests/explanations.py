"""Why a paper is in a digest: the explanation the email and the web view show under each paper.

One reason today: the interest lines that picked the paper, each with every word of the paper it
matched (matching.explain_match finds them when the digest is shown; the planner stores only the
lines). A new kind of reason (a paper close to the reader's description) is one more part: an
Explanation is its parts joined, each part written once as HTML and once as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from newsletter.matching import explain_match
from newsletter.paper_records import paper_record_from_paper
from papers.models import Paper

# Inline: Gmail drops <style> in many cases (templates/emails/digest-body.html says more).
MARK_OPEN = '<mark class="pb-mark" style="background-color:#fff1a8;color:#1a1d21;padding:0 2px;">'
PART_SEPARATOR = " · "


@dataclass(frozen=True, slots=True)
class Part:
    html: SafeString
    text: str


@dataclass(frozen=True, slots=True)
class Explanation:
    html: SafeString
    text: str

    @classmethod
    def joined(cls, parts: Sequence[Part]) -> Explanation:
        html = mark_safe(PART_SEPARATOR.join(part.html for part in parts))  # noqa: S308 - parts are escaped
        return cls(html=html, text=PART_SEPARATOR.join(part.text for part in parts))


class ItemExplainer:
    """Explanations for the items of many digests. Readers with the same line for the same paper share
    its words, and readers with the same lines for it share its explanation (a sending chunk repeats
    both a lot). Words are kept, not the tokenized papers: holding a chunk's tokens alive makes the
    garbage collector walk them again and again (measured: rendering at half speed)."""

    def __init__(self) -> None:
        self._words: dict[tuple[str, int], list[str]] = {}
        self._explained: dict[tuple, Explanation] = {}

    def explain(self, *, interests: Sequence[str], paper: Paper, heading: str = "") -> Explanation:
        """`heading` is the line the paper is listed under, if the digest shows one: not repeated."""
        key = (tuple(interests), paper.id, heading)
        found = self._explained.get(key)
        if found is None:
            parts = [
                self._matched(interest, paper, first=number == 0, named=interest != heading)
                for number, interest in enumerate(interests)
            ]
            found = self._explained[key] = Explanation.joined(parts)
        return found

    def words(self, interest: str, paper: Paper) -> list[str]:
        """Every word of the paper the line matched, in reading order, each spelling once (any case)."""
        key = (interest, paper.id)
        found = self._words.get(key)
        if found is None:
            seen: dict[str, str] = {}
            for word in explain_match([interest], paper_record_from_paper(paper)):
                seen.setdefault(word.casefold(), word)
            found = self._words[key] = list(seen.values())
        return found

    def _matched(self, interest: str, paper: Paper, *, first: bool, named: bool) -> Part:
        words = self.words(interest, paper)
        lead = "Matched" if first else "also"
        name_html = f" “{escape(interest)}”" if named else ""
        name_text = f" “{interest}”" if named else ""
        if not words:
            return Part(mark_safe(f"{lead}{name_html}"), f"{lead}{name_text}")  # noqa: S308 - escaped
        html_words = ", ".join(f"{MARK_OPEN}{escape(word)}</mark>" for word in words)
        text_words = ", ".join(f"*{word}*" for word in words)
        return Part(
            mark_safe(f"{lead}{name_html}: {html_words}"),  # noqa: S308 - every piece escaped
            f"{lead}{name_text}: {text_words}",
        )
