"""Matching by meaning: the similarity cut per line, in blocks, and reciprocal rank fusion."""

from __future__ import annotations

import numpy as np
import pytest

from newsletter.matching import Match, Source, meaning
from newsletter.matching.meaning import RRF_K, RankedList, close_papers, fuse


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


PAPERS = np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(0, 1, 0), unit(0, 0, 1), unit(1, 0.2, 0)])


def test_a_line_picks_the_papers_at_or_above_its_threshold_best_first():
    [(columns, similarities)] = close_papers(unit(1, 0, 0)[None, :], np.array([0.7], np.float32), PAPERS)
    assert columns.tolist() == [0, 4, 1]  # cosines 1, 0.98, 0.71; 0 for the others
    assert similarities[0] == pytest.approx(1.0) and similarities[2] == pytest.approx(2**-0.5, abs=1e-6)


def test_each_line_has_its_own_threshold_and_the_limit_holds():
    lines = np.stack([unit(1, 0, 0), unit(0, 0, 1)])
    found = close_papers(lines, np.array([0.0, 0.99], np.float32), PAPERS, limit=2)
    assert [columns.tolist() for columns, _ in found] == [[0, 4], [3]]


def test_lines_in_several_blocks_give_what_one_block_gives(monkeypatch):
    rng = np.random.default_rng(7)
    lines = rng.normal(size=(50, 3)).astype(np.float32)
    lines /= np.linalg.norm(lines, axis=1, keepdims=True)
    thresholds = np.full(50, 0.3, np.float32)
    whole = close_papers(lines, thresholds, PAPERS)
    monkeypatch.setattr(meaning, "LINE_BLOCK", 7)
    blocks = close_papers(lines, thresholds, PAPERS)
    assert [c.tolist() for c, _ in blocks] == [c.tolist() for c, _ in whole]


def test_fusion_adds_reciprocal_ranks_and_names_every_line():
    keyword = [Match("a", 9.0, ["agents"], ["agents"]), Match("b", 5.0, ["agents"], ["agent"])]
    lists = [
        RankedList(Source.KEYWORD, ["a", "b"], matches=keyword),
        RankedList(Source.MEANING, ["c", "b"], line="~ planning with tools"),
        RankedList(Source.EXAMPLE, ["b"], line="like:2401.12345", liked_paper_id=42),
    ]
    fused = fuse(lists, top_k=10)
    assert [m.paper_id for m in fused] == ["b", "a", "c"]
    b = fused[0]
    assert b.score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert b.interests == ["agents", "~ planning with tools", "like:2401.12345"]
    assert b.terms == ["agent"]  # the keyword line's words
    assert (b.source, b.liked_paper_id) == (Source.EXAMPLE, 42)  # ranked first there
    assert (fused[2].source, fused[2].interests) == (Source.MEANING, ["~ planning with tools"])


def test_the_keyword_list_wins_ties_and_excluded_papers_and_the_cut_hold():
    lists = [
        RankedList(Source.KEYWORD, ["a"], matches=[Match("a", 1.0, ["x"])]),
        RankedList(Source.MEANING, ["a", "b", "c"], line="~ y"),
    ]
    fused = fuse(lists, top_k=2, excluded={"b"})
    assert [m.paper_id for m in fused] == ["a", "c"]
    assert fused[0].source == Source.KEYWORD


def test_a_scale_lowers_papers_before_the_cut():
    lists = [RankedList(Source.MEANING, ["a", "b", "c"], line="~ y")]
    assert [m.paper_id for m in fuse(lists, top_k=2)] == ["a", "b"]
    halved = fuse(lists, top_k=2, scale=lambda paper_id: 0.5 if paper_id == "a" else 1.0)
    assert [m.paper_id for m in halved] == ["b", "c"]
    assert halved[0].score == pytest.approx(1 / (RRF_K + 2))


def test_scaling_only_the_head_gives_what_scaling_everything_gives():
    rng = np.random.default_rng(3)
    for _ in range(200):
        ids = rng.permutation(40).tolist()
        lists = [
            RankedList(Source.MEANING, ids[: rng.integers(1, 40)], line="~ a"),
            RankedList(Source.EXAMPLE, rng.permutation(40)[: rng.integers(1, 40)].tolist(), line="like:x"),
        ]
        shares = {paper: float(rng.choice([1.0, 0.5, 0.25])) for paper in range(40)}
        everything = fuse(lists, top_k=100)
        expected = sorted(everything, key=lambda m: m.score * shares[m.paper_id], reverse=True)[:7]
        got = fuse(lists, top_k=7, scale=shares.__getitem__)
        assert [m.paper_id for m in got] == [m.paper_id for m in expected]
        assert [m.score for m in got] == pytest.approx([m.score * shares[m.paper_id] for m in expected])
