"""DigestPlan: the planned digests as subscriber id -> [Match, ...], built when read.

A run over a million subscribers keeps its result as flat arrays (fanout.Kept); Match objects, with
the interests as typed and the words to highlight, are made on reading. They are made for many
subscribers at once: which of a subscriber's interests matched each kept paper is one vectorized
lookup in the dense interest x paper table, and the highlighted words are built once per (interests,
paper) (explain.py), so reading costs a few microseconds per Match.

Reading in order is the common case (`items()`, `dict(plan)`, `for id in plan: plan[id]`): `items()`
works in batches, and `plan[id]` reads ahead in batches while the ids asked for follow the plan's order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

from .collector import collector_paused
from .explain import Explainer
from .records import Match, PaperRecord

if TYPE_CHECKING:
    from .fanout import InterestLists, Kept
    from .interests import Interests

# Subscribers per batch of Match building: large enough that numpy's per-call cost vanishes.
BATCH = 4096


class DigestPlan(Mapping[int, list[Match]]):
    """subscriber id -> their Matches, best first; subscribers without any are absent.

    Every read builds fresh lists and Match objects: callers may change them.
    """

    def __init__(
        self,
        kept: Kept,
        factors: np.ndarray,
        papers: list[PaperRecord],
        interests: Interests,
        lists: InterestLists,
    ) -> None:
        self._kept = kept
        self._factors = factors
        self._ids = interests.table.ids
        self._paper_ids = np.array([p.id for p in papers], dtype=object)
        self._interests = interests
        self._lists = lists
        self._explainer = Explainer(interests.root, papers)
        self._rows = np.flatnonzero(np.diff(kept.indptr))
        self._position_by_id: dict[int, int] | None = None
        self._ahead: dict[int, list[Match]] = {}  # read-ahead digests not asked for yet
        self._next_position = 0
        self._ahead_size = 1

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids[self._rows].tolist())

    def __contains__(self, subscriber_id: object) -> bool:
        return subscriber_id in self._positions()

    def __getitem__(self, subscriber_id: int) -> list[Match]:
        matches = self._ahead.pop(subscriber_id, None)
        if matches is not None:
            return matches
        position = self._positions().get(subscriber_id)
        if position is None:
            raise KeyError(subscriber_id)
        # Double the read-ahead while reads follow the plan's order; a jump starts over at one.
        self._ahead_size = min(2 * self._ahead_size, BATCH) if position == self._next_position else 1
        rows = self._rows[position : position + self._ahead_size]
        ahead = dict(self._digests(rows))
        matches = ahead.pop(subscriber_id)
        self._ahead, self._next_position = ahead, position + len(rows)
        return matches

    def items(self) -> Iterator[tuple[int, list[Match]]]:  # type: ignore[override]
        """(subscriber id, Matches) for every planned subscriber, in batches: the fast way to read all."""
        for start in range(0, len(self._rows), BATCH):
            yield from self._digests(self._rows[start : start + BATCH])

    def picks(self) -> Iterator[tuple[int, list[Match]]]:
        """Like items(), without the highlighted words (Match.terms stays empty): what a planner stores.

        The words are found when a digest is shown (explain_match), for ten papers instead of millions.
        """
        for start in range(0, len(self._rows), BATCH):
            yield from self._digests(self._rows[start : start + BATCH], explain=False)

    @property
    def pick_count(self) -> int:
        """How many (subscriber, paper) picks the plan holds, without building them."""
        return int(self._kept.indptr[-1])

    def values(self) -> Iterator[list[Match]]:  # type: ignore[override]
        return (matches for _, matches in self.items())

    def _positions(self) -> dict[int, int]:
        if self._position_by_id is None:
            ids = self._ids[self._rows].tolist()
            self._position_by_id = {subscriber_id: n for n, subscriber_id in enumerate(ids)}
        return self._position_by_id

    def _digests(self, rows: np.ndarray, *, explain: bool = True) -> list[tuple[int, list[Match]]]:
        """(id, Matches) of subscriber rows `rows`, each row's kept papers being already best first."""
        with collector_paused():
            return list(self._build(rows) if explain else self._build_unexplained(rows))

    def _build_unexplained(self, rows: np.ndarray) -> Iterator[tuple[int, list[Match]]]:
        columns, scores, lengths = self._entries(rows)
        alone, masks = self._matched(np.repeat(rows, lengths), columns)
        entries = zip(
            self._paper_ids[columns].tolist(), scores.tolist(), alone.tolist(), masks.tolist(), strict=True
        )
        ids = self._ids[rows].tolist()
        for subscriber_id, row, length in zip(ids, rows.tolist(), lengths.tolist(), strict=True):
            typed = self._interests.typed(row)
            bits = {number: 1 << j for j, number in enumerate(sorted(typed))}
            matches = []
            for paper_id, score, number, mask in islice(entries, length):
                if number >= 0:
                    interests = typed[number].copy()
                else:
                    interests = [t for n, texts in typed.items() if mask & bits[n] for t in texts]
                matches.append(Match(paper_id, score, interests))
            yield subscriber_id, matches

    def _entries(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The kept columns and scores of `rows`, concatenated, and each row's count."""
        indptr = self._kept.indptr
        lengths = indptr[rows + 1] - indptr[rows]
        at = np.arange(int(lengths.sum())) + np.repeat(indptr[rows] - (np.cumsum(lengths) - lengths), lengths)
        columns = self._kept.columns[at]
        return columns, self._kept.relevance[at].astype(np.float64) * self._factors[columns], lengths

    def _build(self, rows: np.ndarray) -> Iterator[tuple[int, list[Match]]]:
        columns, scores, lengths = self._entries(rows)
        alone, masks = self._matched(np.repeat(rows, lengths), columns)
        # One interest matched: its highlighted words, looked up by number * n_papers + column.
        codes = np.where(alone >= 0, alone * len(self._paper_ids) + columns, -1)
        terms_of_one = self._explainer.terms_of_many(codes[alone >= 0])
        paper_ids = self._paper_ids[columns].tolist()
        entries = zip(
            paper_ids,
            scores.tolist(),
            alone.tolist(),
            codes.tolist(),
            columns.tolist(),
            masks.tolist(),
            strict=True,
        )
        ids = self._ids[rows].tolist()
        for subscriber_id, row, length in zip(ids, rows.tolist(), lengths.tolist(), strict=True):
            typed = self._interests.typed(row)
            several = _Several(typed, self._explainer)
            matches = []
            for paper_id, score, number, code, column, mask in islice(entries, length):
                if number >= 0:  # the common case
                    matches.append(Match(paper_id, score, typed[number].copy(), terms_of_one[code].copy()))
                else:
                    matches.append(Match(paper_id, score, *several.why(mask, column)))
            yield subscriber_id, matches

    def _matched(self, rows: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per kept entry, which of the row's interests match the paper: the interest number when only
        one does (else -1), and a mask whose bit j stands for the row's j-th interest by number."""
        follows = self._interests.follows
        starts, counts = follows.indptr[rows], np.diff(follows.indptr)[rows]
        alone = np.full(len(rows), -1, dtype=np.int64)
        masks = np.zeros(len(rows), dtype=np.int64)
        for j in range(int(counts.max(initial=0))):
            has = np.flatnonzero(counts > j)
            interests = follows.indices[starts[has] + j]
            hit = self._lists.dense[interests, columns[has]] > 0
            alone[has[hit]] = interests[hit]
            masks[has[hit]] |= 1 << j
        alone[(masks & (masks - 1)) != 0] = -1  # more than one bit
        return alone, masks


class _Several:
    """For papers several of a reader's interests match: the texts in typed order, and the words."""

    def __init__(self, typed: dict[int, list[str]], explainer: Explainer) -> None:
        self._typed = typed
        self._explainer = explainer
        self._bits: dict[int, int] | None = None
        self._by_mask: dict[int, tuple[list[str], tuple[int, ...]]] = {}

    def why(self, mask: int, column: int) -> tuple[list[str], list[str]]:
        known = self._by_mask.get(mask)
        if known is None:
            if self._bits is None:  # follows' rows list interests by number
                self._bits = {number: 1 << j for j, number in enumerate(sorted(self._typed))}
            numbers = tuple(n for n in self._typed if mask & self._bits[n])
            known = self._by_mask[mask] = ([t for n in numbers for t in self._typed[n]], numbers)
        return known[0].copy(), self._explainer.terms(known[1], column).copy()
