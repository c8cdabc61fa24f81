"""Compiling and matching a run's distinct texts in several processes, for large offline runs.

Parsing is pure Python: hundreds of thousands of distinct texts take seconds of one core. Forked
processes each compile and match a share of the texts against the paper index (built once, before
the fork, and shared copy-on-write) and send back only plain data: the canonical key per text and
the weights of their distinct interests as CSR arrays. The parent numbers interests by key, as
`compile_texts` does, so the result is the same as compiling everything in one process.

Not for Celery workers: their prefork pool processes are daemons and may not fork. The planner
shards its work across tasks instead.
"""

from __future__ import annotations

import itertools
import multiprocessing
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .index import PaperIndex, match_interests
from .interests import CompiledTexts, compile_texts

# Set in the parent just before forking, read by the children (inherited, never pickled).
_shared: dict[str, object] = {}


@dataclass
class MatchCounts:
    n_leaves: int
    n_nodes: int


@dataclass
class _Share:
    """What one process sends back: per text its local interest number; per local interest its key
    and weight row."""

    numbers: np.ndarray
    keys: list[str]
    weights: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_leaves: int
    n_nodes: int


def compile_and_match_in_processes(
    texts: list[str], index: PaperIndex, processes: int
) -> tuple[CompiledTexts, sp.csr_matrix, MatchCounts]:
    """The same numbering and weights as compile_texts + match_interests, computed in `processes`."""
    bounds = np.linspace(0, len(texts), processes + 1).astype(int).tolist()
    _shared.update(texts=texts, index=index)
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            shares = pool.map(_compile_and_match_share, list(itertools.pairwise(bounds)))
    finally:
        _shared.clear()
    return _merge(shares, index.n_papers)


def _compile_and_match_share(bounds: tuple[int, int]) -> _Share:
    start, end = bounds
    compiled = compile_texts(_shared["texts"][start:end])  # type: ignore[index]
    matched = match_interests(compiled.roots or [], _shared["index"])  # type: ignore[arg-type]
    weights = matched.weights
    return _Share(
        compiled.numbers, compiled.keys, (weights.data, weights.indices, weights.indptr), *_counts(matched)
    )


def _counts(matched) -> tuple[int, int]:
    return matched.n_leaves, matched.n_nodes


def _merge(shares: list[_Share], n_papers: int) -> tuple[CompiledTexts, sp.csr_matrix, MatchCounts]:
    """Number interests by key across shares, first seen first, keeping each key's weight row once."""
    number_of_key: dict[str, int] = {}
    numbers, rows = [], []
    for share in shares:
        local = np.empty(len(share.keys), dtype=np.int64)
        fresh = []
        for position, key in enumerate(share.keys):
            number = number_of_key.get(key)
            if number is None:
                number = number_of_key[key] = len(number_of_key)
                fresh.append(position)
            local[position] = number
        mapped = np.full(len(share.numbers), -1, dtype=np.int64)
        valid = share.numbers >= 0
        mapped[valid] = local[share.numbers[valid]]
        numbers.append(mapped)
        weights = sp.csr_matrix(share.weights, shape=(len(share.keys), n_papers))
        rows.append(weights[np.array(fresh, dtype=np.int64)])
    weights = sp.vstack(rows, format="csr") if rows else sp.csr_matrix((0, n_papers), dtype=np.int32)
    compiled = CompiledTexts(
        np.concatenate(numbers) if numbers else np.zeros(0, np.int64), list(number_of_key)
    )
    # Leaves and nodes are counted per process: shared leaves are counted once per process.
    counts = MatchCounts(sum(s.n_leaves for s in shares), sum(s.n_nodes for s in shares))
    return compiled, weights.astype(np.int32), counts
