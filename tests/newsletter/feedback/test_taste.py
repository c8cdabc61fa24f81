"""The taste model on the real corpus and the packaged embedding model."""

from __future__ import annotations

import numpy as np

from newsletter.feedback.learner import fit_taste
from tests.newsletter.feedback.corpus import (
    DISLIKED_TOPIC,
    LIKED_TOPIC,
    UNRELATED_TOPIC,
    highly_relevant,
    matrix,
    others,
)

RATED = 5  # papers of a topic the reader rated; the topic's other papers are held out


def auc(higher: np.ndarray, lower: np.ndarray) -> float:
    """The share of (higher, lower) pairs the scores put in that order: 1.0 is a perfect ranking."""
    return float((higher[:, None] > lower[None, :]).mean())


def test_likes_and_dislikes_rank_held_out_papers_of_the_liked_topic_first():
    liked, disliked = highly_relevant(LIKED_TOPIC), highly_relevant(DISLIKED_TOPIC)
    vectors = np.vstack([matrix(liked[:RATED]), matrix(disliked[:3])])
    fitted = fit_taste(vectors, np.array([1] * RATED + [-1] * 3))

    def score(ids) -> np.ndarray:
        return matrix(ids) @ fitted.weights + fitted.bias

    held_out_liked = score(liked[RATED:])
    assert auc(held_out_liked, score(disliked[3:])) > 0.95
    assert auc(held_out_liked, score(highly_relevant(UNRELATED_TOPIC))) > 0.95
    assert auc(held_out_liked, score(others())) > 0.9


def test_likes_alone_against_the_digests_other_papers_rank_the_liked_topic_first():
    liked = highly_relevant(LIKED_TOPIC)
    passed_over = others()[:30]  # what training uses when a reader never said "less"
    vectors = np.vstack([matrix(liked[:RATED]), matrix(passed_over)])
    fitted = fit_taste(vectors, np.array([1] * RATED + [-1] * len(passed_over)))

    def score(ids) -> np.ndarray:
        return matrix(ids) @ fitted.weights + fitted.bias

    held_out_liked = score(liked[RATED:])
    assert auc(held_out_liked, score(highly_relevant(UNRELATED_TOPIC))) > 0.95
    assert auc(held_out_liked, score(highly_relevant(DISLIKED_TOPIC))) > 0.95
    assert auc(held_out_liked, score(others()[30:])) > 0.9
