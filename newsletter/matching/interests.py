"""The distinct interests of a planning run: each typed text compiled once, numbered by meaning."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

from .compiler import Node, _compile_cached
from .parser import InterestSyntaxError
from .records import SubscriberRecord


class Interests:
    """Distinct interests of a run: text -> interest number, the roots, and who follows what."""

    def __init__(self, by_text: dict[str, int], roots: list[Node], follows: sp.csr_matrix) -> None:
        self.by_text = by_text
        self.roots = roots
        self.follows = follows  # subscriber x interest, 1 where followed


def distinct_interests(subscribers: list[SubscriberRecord], stats: dict[str, Any]) -> Interests:
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
    return Interests(by_text, roots, follows)


def _row_pointers(valid: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CSR row pointers counting only valid entries, rows of `lengths` entries each."""
    ends = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ends[1:])
    # Invalid entries are rare: subtract, at each row end, how many come before it (not a pass per entry).
    return ends - np.searchsorted(np.flatnonzero(~valid), ends)


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
