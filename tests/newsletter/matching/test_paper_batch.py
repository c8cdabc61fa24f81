"""PaperBatch: papers indexed once and matched many times, as match_papers would match them."""

from __future__ import annotations

import datetime as dt
import gc
from concurrent.futures import ThreadPoolExecutor

import pytest

from newsletter.matching import PaperBatch, match_papers
from newsletter.matching.records import load_papers
from tests.conftest import FIXTURES

TODAY = dt.date(2026, 5, 8)
CORPUS = load_papers(FIXTURES / "corpus" / "papers.jsonl")
INTERESTS = ["diffusion", "LLMs", "speech OR audio", '"gaussian splatting"', "quantiz*", "RL -robot*", "MoE"]


@pytest.fixture(scope="module")
def batch() -> PaperBatch:
    return PaperBatch(CORPUS)


@pytest.mark.parametrize("interest", INTERESTS)
def test_count_and_best_are_those_of_match_papers(batch, interest):
    expected = match_papers([interest], CORPUS, today=TODAY)
    found = batch.match([interest], top_k=3, today=TODAY)
    assert found.count == len(expected) > 0
    assert found.best == expected[:3]


def test_without_top_k_every_match_is_returned(batch):
    assert batch.match(["splatting", "nerf"], today=TODAY).best == match_papers(
        ["splatting", "nerf"], CORPUS, today=TODAY
    )


def test_an_invalid_interest_matches_nothing(batch):
    found = batch.match(['"unclosed'], top_k=3, today=TODAY)
    assert (found.count, found.best) == (0, [])


def test_threads_sharing_one_batch_get_the_same_answers(batch):
    expected = {interest: batch.match([interest], top_k=5, today=TODAY) for interest in INTERESTS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(lambda i: (i, batch.match([i], top_k=5, today=TODAY)), INTERESTS * 6))
    assert all(result == expected[interest] for interest, result in found)


def test_prefix_queries_leave_the_shared_index_as_built(batch):
    # A long-lived index must not keep every prefix anyone typed (the preview sees arbitrary input).
    for prefix in ("quant*", "diff*", "spe*"):
        assert batch.match([prefix], top_k=1, today=TODAY).count > 0
    assert batch._index._prefix_cache == {}


def test_the_index_holds_no_containers_the_garbage_collector_walks(batch):
    # Millions of tracked span lists made each full collection of a process holding the index take
    # seconds; tuples of ints are untracked after one collection.
    gc.collect()
    spans = [group for paper in batch._index.term_spans for group in paper.values()]
    assert spans and not any(gc.is_tracked(group) for group in spans)
