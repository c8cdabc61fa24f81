"""Fan-out from matched interests to subscribers, and each subscriber's cut to their top k, exactly.

Scoring every (subscriber, paper) pair that any of the subscriber's interests matched is wasteful: with
~25 papers per interest and a cut to 10, most pairs can be proven out without being scored. Let a
paper be "single" for a reader when exactly one of their interests matches it (most are), "multi"
otherwise. Each interest keeps its papers sorted by the rank that interest alone gives them
(rank.rank_table of its weight). Then:

* A single paper p of interest i that is not among the first k + s of i's list (s = papers already
  sent to this reader) cannot make the cut: at least k unsent papers q precede it in that list, and
  each scores at least what i alone gives it (relevances only add), so each still ranks before p —
  on an equal score, q's list position already means q is the lower paper index, the tie-break.
* A multi paper can gain from several interests, so every multi paper is a candidate.

So the candidates are the first k + s papers of each followed interest that are single for the reader,
plus the reader's multi papers (found with per-interest bitsets: "in two or more of these sets"),
whose relevance is summed from a dense interest x paper weight table. The top k of the candidates is
exactly the top k of all pairs, with the same tie-breaking; the property tests and the benchmark's
reference comparison hold it to that.

Everything is numpy over blocks of subscribers; a (relevance, paper) pair travels as one int32 rank,
which orders exactly as the ranking does and decodes back to both. Blocks are independent, and almost
all of a block's time is spent inside numpy calls that release the GIL, so blocks run on a few threads
(threads, not processes: this runs inside Celery prefork workers). Their results are put together in
block order, so the outcome does not depend on which thread finished first.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .rank import rank_table

# Subscribers per block: bounds the temporaries (about 70 candidate ranks per subscriber).
BLOCK_ROWS = 50_000
# Blocks processed at once: one per core of the machines we run on (measured: 2 threads on 2 cores).
THREADS = 2


@dataclass
class Kept:
    """The kept (subscriber row, paper column, relevance) entries as CSR arrays, best first in a row."""

    indptr: np.ndarray
    columns: np.ndarray
    relevance: np.ndarray


class InterestLists:
    """Per distinct interest: its papers in its own rank order, a dense weight table and a bitset."""

    def __init__(self, weights: sp.csr_matrix, factors: np.ndarray, most_relevance: int) -> None:
        n_interests, n_papers = weights.shape
        self.n_papers = n_papers
        ranks = rank_table(np.arange(most_relevance + 1), factors)
        self.rank_of = ranks.ravel().astype(np.int32)  # [relevance * n_papers + column]
        self.paper_of_rank = np.empty(ranks.size, dtype=np.int32)
        self.paper_of_rank[ranks.ravel()] = np.tile(np.arange(n_papers, dtype=np.int32), ranks.shape[0])
        self.relevance_of_rank = np.empty(ranks.size, dtype=np.int32)
        self.relevance_of_rank[ranks.ravel()] = np.repeat(np.arange(ranks.shape[0], dtype=np.int32), n_papers)
        rows = np.repeat(np.arange(n_interests, dtype=np.int64), np.diff(weights.indptr))
        self.indptr = weights.indptr.astype(np.int64)
        self.lengths = np.diff(self.indptr)
        self.sorted_ranks = _ranks_sorted_within_rows(rows, weights, self.rank_of, n_papers)
        # A last all-zero row: what a subscriber's unused interest slots point at (see _Block.table).
        self.dense = np.zeros((n_interests + 1, n_papers), dtype=np.uint8)
        self.dense[rows, weights.indices] = weights.data
        self.bits = _bitsets(self.dense)
        self.nothing = n_interests


def _ranks_sorted_within_rows(
    rows: np.ndarray, weights: sp.csr_matrix, rank_of: np.ndarray, n_papers: int
) -> np.ndarray:
    single = rank_of[weights.data.astype(np.int64) * n_papers + weights.indices]
    # One sort of row-offset codes sorts every row at once.
    codes = np.sort(rows * len(rank_of) + single)
    return (codes % len(rank_of)).astype(np.int32)


def _bitsets(dense: np.ndarray) -> np.ndarray:
    """Row i: bit p (little-endian within each byte) set where interest i matches paper p; whole words."""
    packed = np.packbits(dense != 0, axis=1, bitorder="little")
    width = -(-packed.shape[1] // 8) * 8
    padded = np.zeros((dense.shape[0], max(width, 8)), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded


def fan_out_top_k(
    follows: sp.csr_matrix,
    weights: sp.csr_matrix,
    sent: np.ndarray | None,
    factors: np.ndarray,
    top_k: np.ndarray,
    stats: dict[str, Any],
) -> tuple[Kept, InterestLists]:
    """Each subscriber row's best min(k, matches) papers; `sent` is sorted row * n_papers + column codes."""
    most = 3 * int(np.diff(follows.indptr).max(initial=0))
    lists = InterestLists(weights, factors, most)
    sent_per_row = _sent_per_row(sent, follows.shape[0], lists.n_papers)

    def block_top_k(start: int) -> _BlockResult:
        end = min(start + BLOCK_ROWS, follows.shape[0])
        return _block_top_k(_Block(follows, start, end, top_k, sent_per_row, lists.nothing), lists, sent)

    parts = _in_threads(block_top_k, range(0, follows.shape[0], BLOCK_ROWS))
    kept = _concatenate([p.kept for p in parts])
    stats.update(
        candidate_pairs=sum(p.candidates for p in parts),
        already_sent_removed=sum(p.removed for p in parts),
        kept_pairs=int(kept.indptr[-1]),
    )
    return kept, lists


def _in_threads(work: Callable[[int], _BlockResult], starts: range) -> list[_BlockResult]:
    """work(start) for each start, on THREADS threads; results in the order of `starts`."""
    if len(starts) < 2:
        return [work(start) for start in starts]
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="fanout") as pool:
        return list(pool.map(work, starts))  # map yields in submission order, whoever finishes first


def _sent_per_row(sent: np.ndarray | None, n_rows: int, n_papers: int) -> np.ndarray:
    if sent is None:
        return np.zeros(n_rows, dtype=np.int64)
    return np.bincount(sent // n_papers, minlength=n_rows)


class _Block:
    """Rows [start, end): their followed interests, cut sizes and already-sent counts."""

    def __init__(
        self,
        follows: sp.csr_matrix,
        start: int,
        end: int,
        top_k: np.ndarray,
        sent_per_row: np.ndarray,
        nothing: int,
    ) -> None:
        self.start, self.size = start, end - start
        self.top_k = top_k[start:end]
        self.sent = sent_per_row[start:end]
        first = follows.indptr[start:end]
        lengths = np.diff(follows.indptr[start : end + 1])
        lengths[self.top_k <= 0] = 0  # a reader who wants nothing needs no candidates
        self.lengths = lengths
        self.follow_rows = np.repeat(np.arange(self.size), lengths)
        positions = np.arange(len(self.follow_rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        self.follow_interests = follows.indices[first[self.follow_rows] + positions]
        # Row x position, padded with the interest that matches nothing: the n-th interest of every
        # row is one column, with no masks for rows that follow fewer.
        self.table = np.full((self.size, int(lengths.max(initial=0))), nothing, dtype=np.int32)
        self.table[self.follow_rows, positions] = self.follow_interests


@dataclass
class _BlockResult:
    """One block's kept entries (rows from 0), and its counts for the stats."""

    kept: Kept
    candidates: int
    removed: int


def _block_top_k(block: _Block, lists: InterestLists, sent: np.ndarray | None) -> _BlockResult:
    multi = _multi_bitsets(block, lists)
    indptr, ranks = _merge_rows(
        block.size, _single_candidates(block, lists, multi), _multi_candidates(block, lists, multi)
    )
    removed = _mark_sent(indptr, ranks, block, lists, sent)
    n_removed = int(removed.sum())
    kept_indptr, kept = best_first(indptr, ranks, np.minimum(block.top_k, np.diff(indptr) - removed))
    # Decoded here rather than after the blocks are joined: this way it happens on the block's thread.
    decoded = Kept(kept_indptr, lists.paper_of_rank[kept], lists.relevance_of_rank[kept])
    return _BlockResult(decoded, len(ranks) - n_removed, n_removed)


def _multi_bitsets(block: _Block, lists: InterestLists) -> np.ndarray:
    """Per row, as bytes: the papers two or more of the row's interests match."""
    words = lists.bits.view(np.uint64)
    once = np.zeros((block.size, words.shape[1]), dtype=np.uint64)
    twice = np.zeros_like(once)
    for interests in block.table.T:
        papers = words[interests]
        twice |= once & papers
        once |= papers
    return twice.view(np.uint8)


def _single_candidates(
    block: _Block, lists: InterestLists, multi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The first k + sent papers of each followed interest's list, minus the row's multi papers."""
    interests = block.follow_interests
    rows = block.follow_rows
    take = np.minimum(lists.lengths[interests], (block.top_k + block.sent)[rows])
    positions = _ragged_ranges(lists.indptr[interests], take)
    ranks = lists.sorted_ranks[positions]
    entry_rows = np.repeat(rows, take)
    papers = lists.paper_of_rank[ranks]
    is_multi = (multi[entry_rows, papers >> 3] >> (papers & 7).astype(np.uint8)) & 1
    single = is_multi == 0
    return entry_rows[single], ranks[single]


def _ragged_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ranges [start, start + length) for each pair."""
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - offsets, lengths)


def _multi_candidates(
    block: _Block, lists: InterestLists, multi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every multi paper of every row, ranked by its relevance summed over the row's interests."""
    rows, papers = _set_bits(multi)
    relevance = np.zeros(len(rows), dtype=np.int64)
    for interests in block.table.T:
        relevance += lists.dense[interests[rows], papers]
    return rows, lists.rank_of[relevance * lists.n_papers + papers]


def _set_bits(bitsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, bit) of every set bit of a row x bytes array, row-major."""
    flat = bitsets.ravel()
    at = np.flatnonzero(flat)
    bits = np.flatnonzero(np.unpackbits(flat[at], bitorder="little"))
    position = at[bits >> 3] * 8 + (bits & 7)
    rows, columns = np.divmod(position, bitsets.shape[1] * 8)
    return rows, columns.astype(np.int32)


# Sorts after every real rank, so a marked entry is never among a row's best.
_NEVER = np.iinfo(np.int32).max


def _mark_sent(
    indptr: np.ndarray, ranks: np.ndarray, block: _Block, lists: InterestLists, sent: np.ndarray | None
) -> np.ndarray:
    """Gives already-sent candidates the rank _NEVER; returns how many each row had."""
    removed = np.zeros(block.size, dtype=np.int64)
    if sent is None:
        return removed
    rows = np.flatnonzero(block.sent)  # few: only these rows' entries are looked at
    lengths = indptr[rows + 1] - indptr[rows]
    at = _ragged_ranges(indptr[rows], lengths)
    entry_rows = np.repeat(rows, lengths)
    codes = (entry_rows + block.start) * lists.n_papers + lists.paper_of_rank[ranks[at]]
    ours = sent[np.searchsorted(sent, block.start * lists.n_papers) :]  # this block's codes onwards
    found = np.minimum(np.searchsorted(ours, codes), max(len(ours) - 1, 0))
    already = ours[found] == codes if len(ours) else np.zeros(len(codes), dtype=bool)
    ranks[at[already]] = _NEVER
    removed[:] = np.bincount(entry_rows[already], minlength=block.size)
    return removed


def _merge_rows(n_rows: int, *parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One CSR (indptr, values) from several row-sorted (rows, values) lists, each row's parts in turn."""
    counts = [np.bincount(rows, minlength=n_rows) for rows, _ in parts]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(sum(counts), out=indptr[1:])
    merged = np.empty(int(indptr[-1]), dtype=np.int32)
    before = indptr[:-1].copy()  # where each row's next part goes
    for (rows, values), count in zip(parts, counts, strict=True):
        # Entry n of this part, in row r, goes to before[r] + (n - where row r starts in this part).
        shift = before - (np.cumsum(count) - count)
        merged[np.arange(len(rows)) + shift[rows]] = values
        before += count
    return indptr, merged


def best_first(indptr: np.ndarray, ranks: np.ndarray, top_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's min(length, k) smallest ranks, ascending (ranks are unique within a row)."""
    lengths = np.diff(indptr)
    take = np.minimum(lengths, np.maximum(top_k, 0))
    out_indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(take, out=out_indptr[1:])
    out = np.empty(int(out_indptr[-1]), dtype=np.int32)
    # Rows of one (length, take) shape form a dense matrix: one partition and sort per shape, not per row.
    busy = np.flatnonzero(take > 0)
    shape = lengths[busy] * (int(take.max(initial=0)) + 1) + take[busy]
    order = np.argsort(shape, kind="stable")
    _, firsts = np.unique(shape[order], return_index=True)
    for rows in np.split(busy[order], firsts[1:]):
        if not rows.size:
            continue
        length, k = int(lengths[rows[0]]), int(take[rows[0]])
        matrix = ranks[indptr[rows][:, None] + np.arange(length)]
        if k < length:
            matrix = np.partition(matrix, k - 1, axis=1)[:, :k]
        matrix.sort(axis=1)
        out[out_indptr[rows][:, None] + np.arange(k)] = matrix
    return out_indptr, out


def _concatenate(parts: list[Kept]) -> Kept:
    """The blocks' entries as one Kept, the blocks' rows one after another."""
    counts = [np.diff(part.indptr) for part in parts]
    indptr = np.zeros(sum(map(len, counts)) + 1, dtype=np.int64)
    if not parts:
        return Kept(indptr, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32))
    np.cumsum(np.concatenate(counts), out=indptr[1:])
    columns = np.concatenate([part.columns for part in parts])
    return Kept(indptr, columns, np.concatenate([part.relevance for part in parts]))
