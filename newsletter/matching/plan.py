"""From subscribers and a batch of papers to each subscriber's ranked, cut digest.

Cost follows distinct interests: interest texts are deduplicated by text, then by meaning
(canonical key), and only distinct interests are matched (index.py). Fan-out to subscribers and the
per-reader cut to top-k (fanout.py) score only the (subscriber, paper) pairs that could make the cut,
with numpy over blocks of subscribers. Match objects, with the typed interests and highlighted words,
are built only when a subscriber's digest is read (result.DigestPlan).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from .collector import collector_paused
from .fanout import fan_out_top_k
from .index import PaperIndex, match_interests
from .interests import CompiledTexts, InterestTable, compile_table
from .parallel import compile_and_match_in_processes
from .rank import paper_factors
from .records import Match, PaperId, PaperRecord, SubscriberRecord
from .result import DigestPlan

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
    return plan_table(
        InterestTable.from_records(subscribers), papers, already_sent=already_sent, today=today, stats=stats
    )


def plan_table(
    table: InterestTable,
    papers: list[PaperRecord],
    *,
    already_sent: SentPairs = (),
    today: dt.date | None = None,
    stats: dict[str, Any] | None = None,
    processes: int = 1,
    compiled: CompiledTexts | None = None,
    index: PaperIndex | None = None,
) -> DigestPlan:
    """plan_digests for subscribers given as an InterestTable (no object per subscriber).

    `processes` > 1 compiles and matches the distinct texts in that many forked processes (for
    offline runs; Celery's prefork workers cannot fork children of their own). `compiled` is the
    table's texts already compiled (compiled_from_forms over stored forms); `index` is `papers`
    already indexed (PaperIndex(papers)), when the caller keeps one across runs.
    """
    stats = {} if stats is None else stats
    with collector_paused():
        return _plan(table, papers, already_sent, today or dt.date.today(), stats, processes, compiled, index)


def _plan(
    table: InterestTable,
    papers: list[PaperRecord],
    already_sent: SentPairs,
    today: dt.date,
    stats: dict[str, Any],
    processes: int,
    compiled: CompiledTexts | None,
    index: PaperIndex | None,
) -> DigestPlan:
    clock = _Clock(stats)
    index = index or PaperIndex(papers)
    clock.lap("seconds_index_papers")
    if processes > 1 and compiled is None:
        compiled, weights, matched = compile_and_match_in_processes(table.texts, index, processes)
        interests = compile_table(table, stats, compiled)
        clock.lap("seconds_compile_and_match")
    else:
        interests = compile_table(table, stats, compiled)
        clock.lap("seconds_compile")
        matched = match_interests(interests.roots, index)
        weights = matched.weights
        clock.lap("seconds_match")
    stats.update(leaves=matched.n_leaves, nodes=matched.n_nodes, interest_paper_matches=weights.nnz)
    factors = paper_factors(papers, today)
    sent = _sent_codes(already_sent, table.ids, papers)
    kept, lists = fan_out_top_k(interests.follows, weights, sent, factors, table.top_k, stats)
    clock.lap("seconds_fanout_topk")
    stats["seconds_total"] = clock.total()
    return DigestPlan(kept, factors, papers, interests, lists)


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


def _sent_codes(already_sent: SentPairs, ids: np.ndarray, papers: list[PaperRecord]) -> np.ndarray | None:
    """Already-sent pairs of this batch as sorted `row * n_papers + column` codes (None when none)."""
    subscriber_ids, paper_ids = _sent_pairs(already_sent)
    paper_column = {p.id: n for n, p in enumerate(papers)}
    columns = np.fromiter((paper_column.get(p, -1) for p in paper_ids), dtype=np.int64, count=len(paper_ids))
    if not (columns >= 0).any():
        return None  # nothing sent from this batch: no need to look subscribers up
    rows = _subscriber_rows(ids, subscriber_ids)
    known = (columns >= 0) & (rows >= 0)
    return np.unique(rows[known] * len(papers) + columns[known]) if known.any() else None


def _sent_pairs(already_sent: SentPairs) -> tuple[np.ndarray, list[PaperId]]:
    """(subscriber ids as an array, paper ids as a list) of the already-sent pairs."""
    if isinstance(already_sent, tuple) and len(already_sent) == 2 and isinstance(already_sent[0], np.ndarray):
        return already_sent[0].astype(np.int64), already_sent[1].tolist()
    pairs = list(already_sent)
    return np.array([s for s, _ in pairs], dtype=np.int64), [p for _, p in pairs]


def _subscriber_rows(all_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row of each of `ids` in `subscribers` (the last row when an id repeats), -1 when absent.

    A sorted search rather than an id -> row dict: a dict of a million subscribers costs more than the
    lookups it serves (subscribers usually come ordered by id, which the stable sort finds quickly).
    """
    if not len(all_ids):
        return np.full(len(ids), -1, dtype=np.int64)
    order = np.argsort(all_ids, kind="stable")
    at = np.searchsorted(all_ids[order], ids, side="right") - 1  # the last of equal ids
    rows = order[np.maximum(at, 0)]
    return np.where((at >= 0) & (all_ids[rows] == ids), rows, -1)
