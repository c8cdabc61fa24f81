"""The engine: distinct interests x a batch of papers -> a sparse (interest, paper) weight matrix.

Two stages, so that cost follows distinct words rather than interests:

1. Leaves (a word, phrase or prefix restricted to fields) are shared by many interests and evaluated
   once each, Monitor-style: a leaf is looked up under its terms in the batch's term index (prefixes
   by a sorted-term range), and only papers holding every slot are verified against token positions.
2. AND / OR / NOT over leaves are evaluated for all interests at once, one tree level at a time, as
   sparse matrix products: an AND node is true where the count of its true required children equals
   their number and no excluded child is true. Work is proportional to the leaves' matches, so an
   interest whose words are absent from the batch costs nothing.

The weight of a match is the best field weight among its matched required words (reference.py has
the same rule, spelled as a tree walk).
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import normalize as nz
from .compiler import Leaf, Node, Or
from .records import PaperRecord

Span = tuple[int, int]


class PaperIndex:
    """Term -> papers (with the fields each appears in), and per paper term -> token spans."""

    def __init__(self, papers: list[PaperRecord]) -> None:
        self.n_papers = len(papers)
        self.term_papers: dict[str, dict[int, int]] = {}
        self.raw_papers: dict[str, dict[int, int]] = {}
        self.term_spans: list[dict[str, tuple[Span, ...]]] = []
        self.raw_spans: list[dict[str, tuple[Span, ...]]] = []
        for number, paper in enumerate(papers):
            tokens = nz.tokenize_fields(paper.title, paper.abstract, paper.ai_keywords, paper.authors)
            self._add(number, tokens)
        self.raw_sorted = sorted(self.raw_papers)
        self._prefix_cache: dict[str, dict[int, int]] = {}

    def for_query(self) -> PaperIndex:
        """This index with a prefix cache of its own, empty: for an index kept and shared by threads
        (PaperBatch), whose cache would otherwise grow with every prefix anyone ever asked for."""
        view = copy.copy(self)  # shallow: the postings and spans are shared, never written after __init__
        view._prefix_cache = {}
        return view

    def _add(self, number: int, tokens: list[nz.Token]) -> None:
        term_spans: dict[str, list[Span]] = {}
        raw_spans: dict[str, list[Span]] = {}
        for term, raw, start, end, _ in tokens:
            term_spans.setdefault(term, []).append((start, end))
            raw_spans.setdefault(raw, []).append((start, end))
        for postings, spans_by_word in ((self.term_papers, term_spans), (self.raw_papers, raw_spans)):
            for word, spans in spans_by_word.items():
                mask = 0
                for start, _ in spans:
                    mask |= 1 << (start >> nz.FIELD_SHIFT)
                postings.setdefault(word, {})[number] = mask
        # Kept as tuples: a tuple of int pairs is not tracked by the cyclic garbage collector, a list
        # is. An index kept alive (the preview's PaperBatch) would otherwise hold millions of lists
        # that every full collection of the process walks (measured: 2.5 s, and 0.2 s as tuples).
        self.term_spans.append({word: tuple(spans) for word, spans in term_spans.items()})
        self.raw_spans.append({word: tuple(spans) for word, spans in raw_spans.items()})

    def atom_papers(self, atom: str) -> dict[int, int]:
        """Papers holding `atom`, each with the mask of fields it occurs in."""
        if not atom.endswith("*"):
            return self.term_papers.get(atom, {})
        cached = self._prefix_cache.get(atom)
        if cached is None:
            cached = self._prefix_cache[atom] = self._prefix_papers(atom[:-1])
        return cached

    def _prefix_papers(self, prefix: str) -> dict[int, int]:
        merged: dict[int, int] = {}
        for raw in self._raws_with_prefix(prefix):
            for number, mask in self.raw_papers[raw].items():
                merged[number] = merged.get(number, 0) | mask
        return merged

    def _raws_with_prefix(self, prefix: str) -> Iterable[str]:
        at = bisect.bisect_left(self.raw_sorted, prefix)
        while at < len(self.raw_sorted) and self.raw_sorted[at].startswith(prefix):
            yield self.raw_sorted[at]
            at += 1

    def atom_spans(self, number: int, atom: str) -> Iterable[Span]:
        if not atom.endswith("*"):
            return self.term_spans[number].get(atom, ())
        prefix = atom[:-1]
        return [s for raw, spans in self.raw_spans[number].items() if raw.startswith(prefix) for s in spans]


def match_leaf(leaf: Leaf, index: PaperIndex) -> dict[int, int]:
    """Paper -> weight of the best field `leaf` occurs in (within its allowed fields)."""
    slots = leaf.slots
    if len(slots) == 1 and len(slots[0]) == 1 and len(slots[0][0]) == 1:
        masks = index.atom_papers(slots[0][0][0])
        return {n: nz.weight_of_mask(m & leaf.fields) for n, m in masks.items() if m & leaf.fields}
    weights = {}
    for number in _candidates(slots, index):
        mask = _phrase_fields(slots, index, number) & leaf.fields
        if mask:
            weights[number] = nz.weight_of_mask(mask)
    return weights


def _candidates(slots: tuple[nz.Slot, ...], index: PaperIndex) -> set[int]:
    """Papers that hold, for every slot, all atoms of one of its alternatives: a superset of matches."""
    result: set[int] | None = None
    for slot in slots:
        in_slot: set[int] = set()
        for alternative in slot:
            in_alternative: set[int] | None = None
            for atom in alternative:
                papers = index.atom_papers(atom).keys()
                in_alternative = set(papers) if in_alternative is None else in_alternative & papers
            in_slot |= in_alternative or set()
        result = in_slot if result is None else result & in_slot
        if not result:
            return set()
    return result or set()


def _phrase_fields(slots: tuple[nz.Slot, ...], index: PaperIndex, number: int) -> int:
    """Mask of the fields where the whole phrase occurs in paper `number`, from token positions."""
    states: set[Span] | None = None  # (where the phrase started, where the next word must start)
    for slot in slots:
        after_slot: set[Span] = set()
        for alternative in slot:
            current = states
            for atom in alternative:
                current = _advance(current, index.atom_spans(number, atom))
                if not current:
                    break
            after_slot |= current or set()
        if not after_slot:
            return 0
        states = after_slot
    mask = 0
    for start, _ in states or ():
        mask |= 1 << (start >> nz.FIELD_SHIFT)
    return mask


def _advance(states: set[Span] | None, spans: Iterable[Span]) -> set[Span]:
    if states is None:
        return set(spans)
    ends_by_start: dict[int, list[int]] = {}
    for start, end in spans:
        ends_by_start.setdefault(start, []).append(end)
    return {(first, end) for first, next_at in states for end in ends_by_start.get(next_at, ())}


# --- stage 2: boolean structure as sparse algebra ------------------------------------------------------


@dataclass
class _Graph:
    """Every distinct node once: leaves first, then inner nodes by height (children before parents)."""

    ids: dict[str, int] = field(default_factory=dict)
    leaves: list[Leaf] = field(default_factory=list)
    levels: list[list[Node]] = field(default_factory=list)
    _heights: dict[str, int] = field(default_factory=dict)

    def add(self, node: Node) -> int:
        known = self._heights.get(node.key)
        if known is not None:
            return known
        if isinstance(node, Leaf):
            height = 0
            self.leaves.append(node)
        else:
            children = node.children if isinstance(node, Or) else node.required + node.excluded
            height = 1 + max(self.add(child) for child in children)
            while len(self.levels) < height:
                self.levels.append([])
            self.levels[height - 1].append(node)
        self._heights[node.key] = height
        return height

    def number(self) -> None:
        for leaf in self.leaves:
            self.ids[leaf.key] = len(self.ids)
        for level in self.levels:
            for node in level:
                self.ids[node.key] = len(self.ids)


@dataclass
class MatchResult:
    weights: sp.csr_matrix  # distinct interest x paper, 1..3 where it matches
    n_leaves: int
    n_nodes: int


def match_interests(roots: list[Node], index: PaperIndex) -> MatchResult:
    graph = _Graph()
    for root in roots:
        graph.add(root)
    graph.number()
    values = _leaf_matrix(graph.leaves, index)
    for level in graph.levels:
        values = sp.vstack([values, _evaluate_level(level, graph.ids, values)], format="csr")
    rows = np.fromiter((graph.ids[r.key] for r in roots), dtype=np.int64, count=len(roots))
    weights = values[rows] if len(roots) else sp.csr_matrix((0, index.n_papers), dtype=np.int32)
    return MatchResult(weights.tocsr(), len(graph.leaves), len(graph.ids))


def _leaf_matrix(leaves: list[Leaf], index: PaperIndex) -> sp.csr_matrix:
    indptr = [0]
    indices: list[int] = []
    data: list[int] = []
    for leaf in leaves:
        weights = match_leaf(leaf, index)
        indices.extend(weights)
        data.extend(weights.values())
        indptr.append(len(indices))
    matrix = sp.csr_matrix(
        (np.array(data, dtype=np.int32), np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int64)),
        shape=(len(leaves), index.n_papers),
    )
    matrix.sort_indices()
    return matrix


def _evaluate_level(level: list[Node], ids: dict[str, int], values: sp.csr_matrix) -> sp.csr_matrix:
    """Weights of one level's nodes, from the rows of `values` (all lower nodes)."""
    width = values.shape[0]
    required = _child_matrix([n.children if isinstance(n, Or) else n.required for n in level], ids, width)
    excluded = _child_matrix([() if isinstance(n, Or) else n.excluded for n in level], ids, width)
    needed = np.array([1 if isinstance(n, Or) else len(n.required) for n in level], dtype=np.int32)

    counts = required @ _at_least(values, 1)
    rows = np.repeat(np.arange(len(level)), np.diff(counts.indptr))
    true = sp.csr_matrix(
        ((counts.data >= needed[rows]).astype(np.int32), counts.indices, counts.indptr), shape=counts.shape
    )
    true.eliminate_zeros()
    if excluded.nnz:
        vetoed = (excluded @ _at_least(values, 1)) > 0
        true = true - true.multiply(vetoed)
        true.eliminate_zeros()
    # Weight w or more where some true required child has weight w or more.
    weight = true.copy()
    for threshold in (2, 3):
        weight = weight + true.multiply((required @ _at_least(values, threshold)) > 0)
    return weight.astype(np.int32).tocsr()


def _at_least(values: sp.csr_matrix, threshold: int) -> sp.csr_matrix:
    indicator = values.copy()
    indicator.data = (values.data >= threshold).astype(np.int32)
    indicator.eliminate_zeros()
    return indicator


def _child_matrix(children: list[tuple[Node, ...]], ids: dict[str, int], width: int) -> sp.csr_matrix:
    indptr = np.zeros(len(children) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(c) for c in children])
    indices = np.fromiter(
        (ids[c.key] for group in children for c in group), dtype=np.int32, count=int(indptr[-1])
    )
    data = np.ones(len(indices), dtype=np.int32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(children), width))
