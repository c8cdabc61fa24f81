"""Why a paper is in a digest: the explanation the email and the web view show under each paper.

The reasons are the interest lines that picked the paper: a keyword line with every word of the
paper it matched (matching.explain_match finds them when the digest is shown; the planner stores
only the lines), a `~` line as "close to your description", a `like:` line as "like <title>"; and
for papers no line picked, "because you liked <title>" (the reader's ratings) or "trending". An
Explanation is its parts joined, each part written once as HTML and once as plain text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from newsletter.matching import Source, explain_match, line_kind
from papers.models import Paper
from papers.records import paper_record_from_paper

# Inline: Gmail drops <style> in many cases (templates/emails/digest-body.html says more).
MARK_OPEN = '<mark class="pb-mark" style="background-color:#fff1a8;color:#1a1d21;padding:0 2px;">'
PART_SEPARATOR = " · "
# (line, paper) pairs whose words a process keeps: a day's papers times the popular lines, with room.
MATCHED_WORDS_KEPT = 100_000


@dataclass(frozen=True, slots=True)
class Explanation:
    """A reason, or several joined, written once as HTML and once as plain text."""

    html: SafeString
    text: str

    @classmethod
    def joined(cls, parts: Sequence[Explanation]) -> Explanation:
        html = mark_safe(PART_SEPARATOR.join(part.html for part in parts))  # noqa: S308 - parts are escaped
        return cls(html=html, text=PART_SEPARATOR.join(part.text for part in parts))


class MatchedWords:
    """The words each line matched in each paper, kept for the life of the process (a worker sends
    chunk after chunk of the same day's papers to readers with the same popular lines), bounded.

    The key holds a fingerprint of what the words are found in (title, abstract, authors, keywords), so
    a paper that changed since is explained again; not the texts themselves, which would keep every
    chunk's copy of them alive. Words are kept, not the tokenized papers: holding thousands of
    tokens alive makes the garbage collector walk them again and again (measured: rendering at half
    speed); tuples of strings it does not walk at all.
    """

    def __init__(self, *, limit: int = MATCHED_WORDS_KEPT) -> None:
        self.limit = limit
        self._kept: OrderedDict[tuple, tuple[str, ...]] = OrderedDict()

    def of(self, interest: str, paper: Paper) -> tuple[str, ...]:
        """Every word of the paper the line matched, in reading order, each spelling once (any case)."""
        key = (interest, paper.id, _fingerprint(paper))
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        seen: dict[str, str] = {}
        for word in explain_match([interest], paper_record_from_paper(paper)):
            seen.setdefault(word.casefold(), word)
        found = self._kept[key] = tuple(seen.values())
        if len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return found


def _fingerprint(paper: Paper) -> int:
    return hash((paper.title, paper.abstract, tuple(paper.authors or ()), tuple(paper.ai_keywords or ())))


matched_words = MatchedWords()


class ItemExplainer:
    """Explanations for the items of many digests: readers with the same lines for the same paper
    share one (a sending chunk repeats them a lot), and every explainer of the process shares the
    words (MatchedWords)."""

    def __init__(self) -> None:
        self._explained: dict[tuple, Explanation] = {}

    def explain(
        self,
        *,
        interests: Sequence[str],
        paper: Paper,
        heading: str = "",
        source: str = Source.KEYWORD,
        liked: Paper | None = None,
    ) -> Explanation:
        """`heading` is the line the paper is listed under, if the digest shows one: not repeated.
        `liked` is the paper a pick by example or by taste is close to."""
        key = (tuple(interests), paper.id, heading, source, liked.id if liked else None)
        found = self._explained.get(key)
        if found is None:
            parts = [
                self._line(interest, paper, first=number == 0, named=interest != heading, liked=liked)
                for number, interest in enumerate(interests)
            ]
            if source == Source.TASTE:
                because = f"Because you liked “{_title(liked)}”" if liked else "Picked from your ratings"
                parts.append(_plain(because))
            if source == Source.TRENDING:
                parts.append(_plain(f"Trending: among the most upvoted new papers (▲ {paper.upvotes})"))
            found = self._explained[key] = Explanation.joined(parts)
        return found

    def _line(
        self, interest: str, paper: Paper, *, first: bool, named: bool, liked: Paper | None
    ) -> Explanation:
        kind = line_kind(interest)
        if kind == Source.MEANING:
            lead = "Close to your description" if first else "also close to your description"
            return _plain(f"{lead} “{interest.lstrip('~ ')}”" if named else lead)
        if kind == Source.EXAMPLE:
            lead = "Like" if first else "also like"
            reference = interest.split(":", 1)[1].strip()
            title = _title(liked) if liked is not None and liked.arxiv_id in reference else reference
            return _plain(f"{lead} “{title}”")
        return self._matched(interest, paper, first=first, named=named)

    def _matched(self, interest: str, paper: Paper, *, first: bool, named: bool) -> Explanation:
        words = matched_words.of(interest, paper)
        lead = "Matched" if first else "also"
        name_html = f" “{escape(interest)}”" if named else ""
        name_text = f" “{interest}”" if named else ""
        if not words:
            return Explanation(mark_safe(f"{lead}{name_html}"), f"{lead}{name_text}")  # noqa: S308 - escaped
        html_words = ", ".join(f"{MARK_OPEN}{escape(word)}</mark>" for word in words)
        text_words = ", ".join(f"*{word}*" for word in words)
        return Explanation(
            mark_safe(f"{lead}{name_html}: {html_words}"),  # noqa: S308 - every piece escaped
            f"{lead}{name_text}: {text_words}",
        )


def _plain(text: str) -> Explanation:
    return Explanation(mark_safe(escape(text)), text)  # noqa: S308 - escaped right here


def _title(paper: Paper) -> str:
    return " ".join(paper.title.split())
