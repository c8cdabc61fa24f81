"""The interests of a planning run: who follows which typed text, and each distinct text compiled once.

Two steps, so a caller holding millions of rows never builds an object per subscriber:
  InterestTable   subscriber rows as arrays: ids, top-k, and the codes of the texts each row typed
  compile_table   each distinct text parsed once, numbered by meaning (canonical key), and the
                  subscriber x interest `follows` matrix the fan-out reads
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

from .compiler import Node, _compile_cached, node_from_form
from .parser import InterestSyntaxError
from .records import SubscriberRecord


@dataclass
class InterestTable:
    """Subscriber rows as arrays. Row r typed `texts[codes[indptr[r]:indptr[r + 1]]]`, in typed order."""

    ids: np.ndarray  # int64, one subscriber id per row
    top_k: np.ndarray  # int64
    texts: list[str]  # the distinct texts
    indptr: np.ndarray  # int64, len(ids) + 1
    codes: np.ndarray  # int32 indexes into `texts`

    @classmethod
    def from_records(cls, subscribers: Sequence[SubscriberRecord]) -> InterestTable:
        count = len(subscribers)
        lengths = np.fromiter((len(s.interests) for s in subscribers), dtype=np.int64, count=count)
        flat = list(chain.from_iterable(s.interests for s in subscribers))
        code_of = {text: code for code, text in enumerate(dict.fromkeys(flat))}
        return cls(
            ids=np.fromiter((s.id for s in subscribers), dtype=np.int64, count=count),
            top_k=np.fromiter((s.top_k for s in subscribers), dtype=np.int64, count=count),
            texts=list(code_of),
            indptr=_pointers(lengths),
            codes=np.fromiter(map(code_of.__getitem__, flat), dtype=np.int32, count=len(flat)),
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def roots(self) -> list[Node]:
        return [self.root(number) for number in range(len(self.keys))]

    def typed(self, row: int) -> list[str]:
        return [self.texts[code] for code in self.codes[self.indptr[row] : self.indptr[row + 1]].tolist()]


@dataclass
class CompiledTexts:
    """Each distinct text's interest number (-1 when invalid) and each interest's canonical key."""

    numbers: np.ndarray  # int64 per text code
    keys: list[str]  # per interest number
    roots: list[Node] | None = None  # per interest number; None when compiled in other processes


class Interests:
    """A run's distinct interests: numbers per text, their syntax trees, and who follows what."""

    def __init__(self, table: InterestTable, compiled: CompiledTexts, follows: sp.csr_matrix) -> None:
        self.table = table
        self.numbers = compiled.numbers
        self.keys = compiled.keys
        self._roots = compiled.roots
        self.follows = follows  # subscriber row x interest number, 1 where followed

    def root(self, number: int) -> Node:
        """The syntax tree of interest `number`, compiled here when it was compiled elsewhere."""
        if self._roots is None:
            self._roots = [None] * len(self.keys)  # type: ignore[list-item]
            self._representative = {}
            for code, n in enumerate(self.numbers.tolist()):
                if n >= 0:
                    self._representative.setdefault(n, code)
        root = self._roots[number]
        if root is None:
            root = self._roots[number] = _compile_cached(self.table.texts[self._representative[number]])
        return root

    @property
    def roots(self) -> list[Node]:
        return [self.root(number) for number in range(len(self.keys))]

    def typed(self, row: int) -> dict[int, list[str]]:
        """Interest number -> the texts row `row` typed for it, both in typed order; invalid ones left out."""
        typed: dict[int, list[str]] = {}
        for text, number in zip(*self._row_texts_and_numbers(row), strict=True):
            if number >= 0 and text not in typed.get(number, ()):
                typed.setdefault(number, []).append(text)
        return typed

    def _row_texts_and_numbers(self, row: int) -> tuple[list[str], list[int]]:
        codes = self.table.codes[self.table.indptr[row] : self.table.indptr[row + 1]]
        return [self.table.texts[c] for c in codes.tolist()], self.numbers[codes].tolist()


def compile_texts(texts: Iterable[str]) -> CompiledTexts:
    """Interest number per text (-1 when invalid), numbered by canonical key in first-seen order."""
    numbers: list[int] = []
    number_of_key: dict[str, int] = {}
    roots: list[Node] = []
    for text in texts:
        try:
            root = _compile_cached(text)
        except InterestSyntaxError:
            numbers.append(-1)
            continue
        number = number_of_key.get(root.key)
        if number is None:
            number = number_of_key[root.key] = len(roots)
            roots.append(root)
        numbers.append(number)
    return CompiledTexts(np.array(numbers, dtype=np.int64), list(number_of_key), roots)


def compiled_from_forms(forms: Iterable[list | None]) -> CompiledTexts:
    """compile_texts for texts whose compiled_form was stored when they were saved: no parsing.

    A missing or unreadable form counts as an invalid interest (-1), as a bad text does.
    """
    numbers: list[int] = []
    number_of_key: dict[str, int] = {}
    roots: list[Node] = []
    for form in forms:
        try:
            root = node_from_form(form) if form else None
        except ValueError:
            root = None
        if root is None:
            numbers.append(-1)
            continue
        number = number_of_key.get(root.key)
        if number is None:
            number = number_of_key[root.key] = len(roots)
            roots.append(root)
        numbers.append(number)
    return CompiledTexts(np.array(numbers, dtype=np.int64), list(number_of_key), roots)


def follows_matrix(table: InterestTable, compiled: CompiledTexts) -> tuple[sp.csr_matrix, int]:
    """Subscriber row x interest number (1 where followed) and how many typed lines were invalid."""
    columns = compiled.numbers[table.codes]
    valid = columns >= 0
    follows = sp.csr_matrix(
        (np.ones(int(valid.sum()), dtype=np.int32), columns[valid], _valid_pointers(valid, table.indptr)),
        shape=(len(table), len(compiled.keys)),
    )
    follows.sum_duplicates()  # the same interest typed twice counts once
    follows.data[:] = 1
    return follows, int((~valid).sum())


def compile_table(
    table: InterestTable, stats: dict[str, Any], compiled: CompiledTexts | None = None
) -> Interests:
    """The run's Interests; `compiled` when the caller compiled the distinct texts itself."""
    compiled = compiled or compile_texts(table.texts)
    follows, invalid = follows_matrix(table, compiled)
    stats.update(
        subscribers=len(table),
        interest_texts=len(table.codes),
        distinct_texts=len(table.texts),
        invalid_interests=invalid,
        distinct_interests=len(compiled.keys),
    )
    return Interests(table, compiled, follows)


def _pointers(lengths: np.ndarray) -> np.ndarray:
    ends = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ends[1:])
    return ends


def _valid_pointers(valid: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Row pointers counting only valid entries."""
    # Invalid entries are rare: subtract, at each row end, how many come before it (not a pass per entry).
    return indptr - np.searchsorted(np.flatnonzero(~valid), indptr)
