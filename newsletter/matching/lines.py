"""The three kinds of interest line, told apart by how they start.

    sparse autoencoder*          keywords: an exact filter in the query language (parser.py)
    ~ editing 3D scenes          a description, matched by meaning (close to its embedding)
    like:2401.12345              an example paper, matched by meaning (close to that paper)

parse_line checks a line's form and gives its canonical key (the dedup key of a reader's lines).
What an arXiv id looks like is the papers' business: the caller passes their normaliser (the
engine imports nothing else of the project). Whether the paper exists is the caller's question too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .compiler import canonical_interest
from .parser import InterestSyntaxError
from .records import Source

DESCRIPTION_MARK = "~"
EXAMPLE_PREFIX = "like:"
# Fewer characters than this say too little to be matched by meaning.
MIN_DESCRIPTION_LENGTH = 3


@dataclass(frozen=True, slots=True)
class Line:
    text: str  # as typed, stripped
    kind: Source  # KEYWORD, MEANING or EXAMPLE
    canonical: str
    description: str = ""  # MEANING: the text after "~"
    arxiv_id: str = ""  # EXAMPLE: the paper's id, without version


def line_kind(text: str) -> Source:
    stripped = text.strip()
    if stripped.startswith(DESCRIPTION_MARK):
        return Source.MEANING
    if stripped[: len(EXAMPLE_PREFIX)].lower() == EXAMPLE_PREFIX:
        return Source.EXAMPLE
    return Source.KEYWORD


def parse_line(text: str, *, normalize_id: Callable[[str], str] = str.strip) -> Line:
    """The line's kind and canonical key; InterestSyntaxError (with a position) for a bad one.
    `normalize_id` turns a typed paper id into its canonical spelling, raising ValueError when it is
    not one (papers.sources.records.normalize_arxiv_id)."""
    text = text.strip()
    kind = line_kind(text)
    if kind is Source.MEANING:
        description = " ".join(text[len(DESCRIPTION_MARK) :].split())
        if len(description) < MIN_DESCRIPTION_LENGTH:
            raise InterestSyntaxError(
                "a description is needed after “~” (a few words saying what the papers are about)", 1
            )
        return Line(text, kind, f"{DESCRIPTION_MARK} {description.casefold()}", description=description)
    if kind is Source.EXAMPLE:
        reference = text[len(EXAMPLE_PREFIX) :].strip()
        if not reference:
            raise InterestSyntaxError("an arXiv id is needed after “like:” (like:2401.12345)", len(text))
        try:
            arxiv_id = normalize_id(reference)
        except ValueError:
            raise InterestSyntaxError(
                f"“{reference[:40]}” is not an arXiv id (expected like:2401.12345)", len(EXAMPLE_PREFIX)
            ) from None
        return Line(text, kind, f"{EXAMPLE_PREFIX}{arxiv_id}", arxiv_id=arxiv_id)
    return Line(text, kind, canonical_interest(text))
