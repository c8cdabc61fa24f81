"""Why a paper matched: the words to highlight for a set of interests in one paper.

The engine only knows that an interest matched and with which weight; the words come from walking the
interest against the paper's tokens, as the reference evaluator does. Interests share their leaves (a
word, phrase or prefix), so each (leaf, paper) is evaluated once and each (interests, paper) highlight
is built once, however many subscribers' digests show it.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence

import numpy as np

from . import normalize as nz
from . import reference
from .compiler import And, Leaf, Node, Or, _compile_cached
from .parser import InterestSyntaxError
from .records import PaperRecord

Tokens = tuple[nz.Token, ...]


def explain_match(interests: Sequence[str], paper: PaperRecord) -> list[str]:
    """The words to highlight in `paper` for the matched `interests` (as typed, in typed order).

    Equal to the terms the engine gives a Match with these interests; digests call it when shown.
    """
    roots: dict[str, Node] = {}
    for text in interests:
        try:
            root = _compile_cached(text)
        except InterestSyntaxError:
            continue
        roots.setdefault(root.key, root)
    explainer = Explainer(list(roots.values()).__getitem__, [paper])
    return list(explainer.terms(tuple(range(len(roots))), 0))


class Explainer:
    """`root_of(number)` gives interest `number`'s syntax tree; papers are the run's, by column."""

    def __init__(self, root_of: Callable[[int], Node], papers: list[PaperRecord]) -> None:
        self._root_of = root_of
        self._papers = papers
        self._tokenized: dict[int, _IndexedPaper] = {}
        self._leaf_tokens: dict[tuple[str, int], Tokens | None] = {}
        self._terms: dict[tuple[tuple[int, ...], int], list[str]] = {}
        # Keyed by number * len(papers) + column: cheaper than a tuple, and most lookups are these.
        self._terms_of_one: dict[int, list[str]] = {}
        self._roots_tokens: dict[int, Tokens] = {}

    def terms_of_many(self, codes: np.ndarray) -> dict[int, list[str]]:
        """Words per code number * len(papers) + column (one interest each), with every one of `codes`
        in it: an int key is cheaper than a tuple, and most matches come from one interest."""
        found = self._terms_of_one
        for code in np.unique(codes).tolist():
            if code not in found:
                number, column = divmod(code, len(self._papers))
                found[code] = reference.surface_words(self._root_tokens(number, column))
        return found

    def terms(self, numbers: tuple[int, ...], column: int) -> list[str]:
        """Highlighted words of distinct interests `numbers` (all matching) in paper `column`.

        The list is shared between calls: copy it before changing it.
        """
        key = (numbers, column)
        found = self._terms.get(key)
        if found is None:
            tokens = [t for n in numbers for t in self._root_tokens(n, column)]
            found = self._terms[key] = reference.surface_words(tokens)
        return found

    def _root_tokens(self, number: int, column: int) -> Tokens:
        key = number * len(self._papers) + column
        found = self._roots_tokens.get(key)
        if found is None:
            found = self._roots_tokens[key] = self.tokens(self._root_of(number), column) or ()
        return found

    def tokens(self, node: Node, column: int) -> Tokens | None:
        """The matched tokens of `node` in the paper, or None when it does not match (reference.evaluate)."""
        if isinstance(node, Leaf):
            return self._leaf(node, column)
        if isinstance(node, Or):
            hits = [self.tokens(child, column) for child in node.children]
            found = [h for h in hits if h is not None]
            return tuple(t for h in found for t in h) if found else None
        return self._and(node, column)

    def _and(self, node: And, column: int) -> Tokens | None:
        hits = []
        for child in node.required:
            hit = self.tokens(child, column)
            if hit is None:
                return None
            hits.append(hit)
        if any(self.tokens(child, column) is not None for child in node.excluded):
            return None
        return tuple(t for h in hits for t in h)

    def _leaf(self, leaf: Leaf, column: int) -> Tokens | None:
        key = (leaf.key, column)
        if key not in self._leaf_tokens:
            self._leaf_tokens[key] = self._paper(column).leaf_tokens(leaf)
        return self._leaf_tokens[key]

    def _paper(self, column: int) -> _IndexedPaper:
        paper = self._tokenized.get(column)
        if paper is None:
            paper = self._tokenized[column] = _IndexedPaper(reference.tokenize_paper(self._papers[column]))
        return paper


class _IndexedPaper:
    """A tokenized paper with its tokens by term and by unstemmed word, to find where a leaf starts."""

    def __init__(self, paper: reference.TokenizedPaper) -> None:
        self.paper = paper
        self.by_term: dict[str, list[nz.Token]] = {}
        self.by_raw: dict[str, list[nz.Token]] = {}
        for token in paper.tokens:
            self.by_term.setdefault(token.term, []).append(token)
            self.by_raw.setdefault(token.raw, []).append(token)
        self.raws = sorted(self.by_raw)

    def leaf_tokens(self, leaf: Leaf) -> Tokens | None:
        """What reference.evaluate(leaf, paper) finds, its starts looked up instead of scanned for."""
        starts = {
            t.start
            for alternative in leaf.slots[0]
            for t in self._tokens_of(alternative[0])
            if leaf.fields >> nz.field_of(t.start) & 1
        }
        tokens = [
            token
            for start in sorted(starts)
            for path in reference.slot_paths(leaf.slots, 0, start, self.paper.by_start)
            for token in path
        ]
        return tuple(tokens) if tokens else None

    def _tokens_of(self, atom: str) -> list[nz.Token]:
        if not atom.endswith("*"):
            return self.by_term.get(atom, [])
        prefix = atom[:-1]
        found: list[nz.Token] = []
        for raw in itertools.islice(self.raws, bisect.bisect_left(self.raws, prefix), None):
            if not raw.startswith(prefix):
                break
            found.extend(self.by_raw[raw])
        return found
