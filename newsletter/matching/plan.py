"""From subscribers and a batch of papers to each subscriber's ranked, cut digest.

Cost follows distinct interests: interest texts are deduplicated by text, then by meaning
(canonical key), and only distinct interests are matched (index.py). Fan-out to subscribers is one
sparse product, subscriber x interest (1 where they follow it) times interest x paper (field weight),
which gives every (subscriber, paper) relevance at once. The per-reader cut to top-k runs as numpy
argpartition over rows of equal length. Match objects, with the typed interests and highlighted
words, are built only when a subscriber's digest is read (DigestPlan).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import reference
from .compiler import Node, _compile_cached
from .index import PaperIndex, match_interests
from .parser import InterestSyntaxError
from .rank import paper_factors, rank_table
from .records import Match, PaperId, PaperRecord, SubscriberRecord

# Rows per block of the fan-out product: bounds memory whatever the number of subscribers.
BLOCK_ROWS = 200_000
SentPairs = Iterable[tuple[int, PaperId]] | tuple[np.ndarray, np.ndarray]


def match_papers(
    interests: list[str], papers: list[PaperRecord], *, today: dt.date | None = None
) -> list[Match]:
    """Papers matching any of `interests`, best first (one reader, no cut)."""
    reader = SubscriberRecord(id=0, interests=list(interests), top_k=len(papers))
    return plan_digests([reader], papers, today=today).get(0, [])


def plan_digests(
    subscribers: list[SubscriberRecord],
    papers: list[PaperRecord],
    *,
    already_sent: SentPairs = (),
    today: dt.date | None = None,
    stats: dict[str, Any] | None = None,
) -> DigestPlan:
    """Each subscriber's best papers, best first, cut to their top_k; subscribers without any are absent.

    `already_sent` is (subscriber id, paper id) pairs, or two parallel numpy arrays. An invalid interest
    is skipped (counted in stats["invalid_interests"]). `stats`, when given, gets seconds per stage
    and counts.
    """
    stats = {} if stats is None else stats
    clock = _Clock(stats)
    today = today or dt.date.today()
    interests = _distinct_interests(subscribers, stats)
    clock.lap("seconds_compile")
    index = PaperIndex(papers)
    clock.lap("seconds_index_papers")
    matched = match_interests(interests.roots, index)
    stats.update(leaves=matched.n_leaves, nodes=matched.n_nodes, interest_paper_matches=matched.weights.nnz)
    clock.lap("seconds_match")
    factors = paper_factors(papers, today)
    sent = _sent_codes(already_sent, subscribers, papers)
    kept = _fan_out_top_k(interests.follows, matched.weights, sent, factors, subscribers, stats)
    clock.lap("seconds_fanout_topk")
    stats["seconds_total"] = clock.total()
    return DigestPlan(kept, factors, subscribers, papers, interests, matched.weights)


class _Clock:
    def __init__(self, stats: dict[str, Any]) -> None:
        self.stats = stats
        self.started = self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stats[name] = now - self.last
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.started


class _Interests:
    """Distinct interests of a run: text -> interest number, the roots, and who follows what."""

    def __init__(self, by_text: dict[str, int], roots: list[Node], follows: sp.csr_matrix) -> None:
        self.by_text = by_text
        self.roots = roots
        self.follows = follows  # subscriber x interest, 1 where followed


def _distinct_interests(subscribers: list[SubscriberRecord], stats: dict[str, Any]) -> _Interests:
    lengths = np.fromiter((len(s.interests) for s in subscribers), dtype=np.int64, count=len(subscribers))
    flat = list(chain.from_iterable(s.interests for s in subscribers))
    by_text, roots = _compile_texts(dict.fromkeys(flat))
    columns = np.fromiter(map(by_text.__getitem__, flat), dtype=np.int32, count=len(flat))
    valid = columns >= 0
    indptr = _row_pointers(valid, lengths)
    follows = sp.csr_matrix(
        (np.ones(int(valid.sum()), dtype=np.int32), columns[valid], indptr),
        shape=(len(subscribers), len(roots)),
    )
    follows.sum_duplicates()  # the same interest typed twice counts once
    follows.data[:] = 1
    stats.update(
        subscribers=len(subscribers),
        interest_texts=len(flat),
        distinct_texts=len(by_text),
        invalid_interests=int((~valid).sum()),
        distinct_interests=len(roots),
    )
    return _Interests(by_text, roots, follows)


def _row_pointers(valid: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CSR row pointers counting only valid entries, rows of `lengths` entries each."""
    cumulative = np.zeros(len(valid) + 1, dtype=np.int64)
    np.cumsum(valid, out=cumulative[1:])
    ends = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ends[1:])
    return cumulative[ends]


def _compile_texts(texts: Iterable[str]) -> tuple[dict[str, int], list[Node]]:
    """Interest number per distinct text (-1 when invalid), numbered by canonical key."""
    by_text: dict[str, int] = {}
    by_key: dict[str, int] = {}
    roots: list[Node] = []
    for text in texts:
        try:
            root = _compile_cached(text)
        except InterestSyntaxError:
            by_text[text] = -1
            continue
        number = by_key.get(root.key)
        if number is None:
            number = by_key[root.key] = len(roots)
            roots.append(root)
        by_text[text] = number
    return by_text, roots


def _sent_codes(
    already_sent: SentPairs, subscribers: list[SubscriberRecord], papers: list[PaperRecord]
) -> np.ndarray | None:
    """Already-sent pairs of this batch as sorted `row * n_papers + column` codes (None when none)."""
    if isinstance(already_sent, tuple) and len(already_sent) == 2 and isinstance(already_sent[0], np.ndarray):
        pairs: Iterable[tuple[int, PaperId]] = zip(
            already_sent[0].tolist(), already_sent[1].tolist(), strict=True
        )
    else:
        pairs = already_sent
    paper_column = {p.id: n for n, p in enumerate(papers)}
    relevant = [(s, paper_column[p]) for s, p in pairs if p in paper_column]
    if not relevant:
        return None
    subscriber_row = {s.id: n for n, s in enumerate(subscribers)}
    codes = [subscriber_row[s] * len(papers) + column for s, column in relevant if s in subscriber_row]
    return np.unique(np.array(codes, dtype=np.int64)) if codes else None


class _Kept:
    """The kept (subscriber row, paper column, relevance) entries as CSR arrays, rows unsorted inside."""

    def __init__(self, indptr: np.ndarray, columns: np.ndarray, relevance: np.ndarray) -> None:
        self.indptr = indptr
        self.columns = columns
        self.relevance = relevance


def _fan_out_top_k(
    follows: sp.csr_matrix,
    weights: sp.csr_matrix,
    sent: np.ndarray | None,
    factors: np.ndarray,
    subscribers: list[SubscriberRecord],
    stats: dict[str, Any],
) -> _Kept:
    top_k = np.maximum(np.fromiter((s.top_k for s in subscribers), dtype=np.int64, count=len(subscribers)), 0)
    n_papers = weights.shape[1]
    # Relevances are sums of small integer weights: exact in float32, and scipy multiplies floats
    # markedly faster than int32.
    follows32, weights32 = follows.astype(np.float32), weights.astype(np.float32)
    most = 3 * int(np.diff(follows.indptr).max(initial=0))
    ranks = rank_table(np.arange(most + 1), factors).ravel()
    counts, columns, relevance = [], [], []
    stats.update(candidate_pairs=0, already_sent_removed=0)
    for start in range(0, len(subscribers), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        scored = follows32[block] @ weights32
        block_relevance = scored.data.astype(np.int64)
        keys = ranks[block_relevance * n_papers + scored.indices]
        lengths = np.diff(scored.indptr)
        unsent = _unsent_entries(scored, start, sent, n_papers)
        removed = np.zeros(len(lengths), dtype=np.int64)
        if unsent is not None:
            keys[~unsent] = np.iinfo(keys.dtype).max  # never among the best
            entry_rows = np.searchsorted(scored.indptr, np.flatnonzero(~unsent), side="right") - 1
            removed = np.bincount(entry_rows, minlength=len(lengths))
        keep = _top_k_mask(scored.indptr, keys, top_k[block])
        if unsent is not None:
            keep &= unsent
        stats["candidate_pairs"] += scored.nnz - int(removed.sum())
        stats["already_sent_removed"] += int(removed.sum())
        # The cut keeps exactly min(length, k) entries of each row.
        counts.append(np.minimum(lengths - removed, top_k[block]))
        columns.append(scored.indices[keep])
        relevance.append(block_relevance[keep].astype(np.int32))
    indptr = np.zeros(len(subscribers) + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=indptr[1:])
    stats["kept_pairs"] = int(indptr[-1])
    empty = np.zeros(0, dtype=np.int32)
    return _Kept(indptr, np.concatenate(columns or [empty]), np.concatenate(relevance or [empty]))


def _unsent_entries(
    scored: sp.csr_matrix, start: int, sent: np.ndarray | None, n_papers: int
) -> np.ndarray | None:
    """False for entries already sent (`sent`: sorted row * n_papers + column codes), or None if none are."""
    if sent is None:
        return None
    rows = np.arange(start, start + scored.shape[0], dtype=np.int64)
    has_sent = np.isin(rows, sent // n_papers)
    if not has_sent.any():
        return None
    lengths = np.diff(scored.indptr)
    in_rows = np.repeat(has_sent, lengths)
    codes = np.repeat(rows[has_sent], lengths[has_sent]) * n_papers + scored.indices[in_rows]
    unsent = np.ones(scored.nnz, dtype=bool)
    unsent[np.flatnonzero(in_rows)[np.isin(codes, sent)]] = False
    return unsent


def _top_k_mask(indptr: np.ndarray, keys: np.ndarray, top_k: np.ndarray) -> np.ndarray:
    """Which entries of each row have one of the row's top_k smallest keys (keys are unique per row)."""
    lengths = np.diff(indptr)
    too_long = lengths > top_k
    long_rows = np.flatnonzero(too_long)
    keep = ~np.repeat(too_long, lengths)
    if not long_rows.size:
        return keep
    # Rows of one (length, k) shape form a dense block: one argpartition per shape, not per row.
    width = int(top_k.max()) + 1
    shape_code = lengths[long_rows] * width + top_k[long_rows]
    order = np.argsort(shape_code, kind="stable")
    codes, firsts = np.unique(shape_code[order], return_index=True)
    for code, rows in zip(codes.tolist(), np.split(long_rows[order], firsts[1:]), strict=True):
        length, k = divmod(code, width)
        if k <= 0:
            continue
        entries = indptr[rows][:, None] + np.arange(length)
        best = np.argpartition(keys[entries], k - 1, axis=1)[:, :k]
        keep[np.take_along_axis(entries, best, axis=1).ravel()] = True
    return keep


class DigestPlan(Mapping[int, list[Match]]):
    """subscriber id -> their Matches, best first; built on first read, so a run over a million
    subscribers does not pay for a million lists nobody reads at once."""

    def __init__(
        self,
        kept: _Kept,
        factors: np.ndarray,
        subscribers: list[SubscriberRecord],
        papers: list[PaperRecord],
        interests: _Interests,
        weights: sp.csr_matrix,
    ) -> None:
        self._kept = kept
        self._factors = factors
        self._subscribers = subscribers
        self._papers = papers
        self._interests = interests
        self._weights = weights
        self._papers_of: dict[int, set[int]] = {}
        self._rows = np.nonzero(np.diff(kept.indptr))[0]
        self._row_by_id: dict[int, int] | None = None
        self._tokenized: dict[int, reference.TokenizedPaper] = {}
        self._hits: dict[tuple[int, int], reference.Hit | None] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[int]:
        return (self._subscribers[row].id for row in self._rows.tolist())

    def __contains__(self, subscriber_id: object) -> bool:
        return subscriber_id in self._row_index()

    def __getitem__(self, subscriber_id: int) -> list[Match]:
        row = self._row_index().get(subscriber_id)
        if row is None:
            raise KeyError(subscriber_id)
        return self._matches(row)

    def _row_index(self) -> dict[int, int]:
        if self._row_by_id is None:
            self._row_by_id = {self._subscribers[row].id: row for row in self._rows.tolist()}
        return self._row_by_id

    def _matches(self, row: int) -> list[Match]:
        start, end = self._kept.indptr[row], self._kept.indptr[row + 1]
        columns = self._kept.columns[start:end]
        scores = self._kept.relevance[start:end].astype(np.float64) * self._factors[columns]
        typed = self._typed_interests(self._subscribers[row])
        matches = []
        for at in np.lexsort((columns, -scores)).tolist():
            column = int(columns[at])
            matches.append(self._match(column, float(scores[at]), typed))
        return matches

    def _typed_interests(self, subscriber: SubscriberRecord) -> dict[int, list[str]]:
        typed: dict[int, list[str]] = {}
        for text in dict.fromkeys(subscriber.interests):
            number = self._interests.by_text.get(text, -1)
            if number >= 0:
                typed.setdefault(number, []).append(text)
        return typed

    def _match(self, column: int, score: float, typed: dict[int, list[str]]) -> Match:
        hit_numbers = [n for n in typed if column in self._papers_of_interest(n)]
        texts = [text for n in hit_numbers for text in typed[n]]
        tokens = [t for n in hit_numbers for t in self._hit_tokens(n, column)]
        return Match(self._papers[column].id, score, texts, reference.surface_words(tokens))

    def _papers_of_interest(self, number: int) -> set[int]:
        papers = self._papers_of.get(number)
        if papers is None:
            row = self._weights.indices[self._weights.indptr[number] : self._weights.indptr[number + 1]]
            papers = self._papers_of[number] = set(row.tolist())
        return papers

    def _hit_tokens(self, number: int, column: int) -> tuple:
        key = (number, column)
        if key not in self._hits:
            if column not in self._tokenized:
                self._tokenized[column] = reference.tokenize_paper(self._papers[column])
            self._hits[key] = reference.evaluate(self._interests.roots[number], self._tokenized[column])
        hit = self._hits[key]
        return hit.tokens if hit is not None else ()
