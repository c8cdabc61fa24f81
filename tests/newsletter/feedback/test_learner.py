from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad

from newsletter.feedback import learner
from newsletter.feedback.learner import fit_taste


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def cluster(rng: np.random.Generator, centre: np.ndarray, count: int, spread: float = 0.6) -> np.ndarray:
    return unit_rows(centre + spread * rng.standard_normal((count, len(centre))))


def test_papers_near_the_likes_score_above_papers_near_the_dislikes():
    rng = np.random.default_rng(7)
    liked_topic, disliked_topic = rng.standard_normal(64), rng.standard_normal(64)
    vectors = np.vstack([cluster(rng, liked_topic, 6), cluster(rng, disliked_topic, 3)])
    labels = np.array([1] * 6 + [-1] * 3)

    fitted = fit_taste(vectors, labels)

    liked_later, disliked_later = cluster(rng, liked_topic, 50), cluster(rng, disliked_topic, 50)
    assert (liked_later @ fitted.weights + fitted.bias).min() > (
        disliked_later @ fitted.weights
    ).max() + fitted.bias
    assert fitted.weights.dtype == np.float32 and fitted.weights.shape == (64,)


def test_classes_are_balanced_so_one_dislike_among_many_likes_still_counts():
    rng = np.random.default_rng(11)
    liked_topic, disliked_topic = rng.standard_normal(32), rng.standard_normal(32)
    # Twenty likes and a single dislike; unweighted, the bias alone would call everything a like.
    vectors = np.vstack([cluster(rng, liked_topic, 20), cluster(rng, disliked_topic, 1)])
    labels = np.array([1] * 20 + [-1])

    fitted = fit_taste(vectors, labels)

    assert vectors[-1] @ fitted.weights + fitted.bias < 0
    assert (vectors[:-1] @ fitted.weights + fitted.bias > 0).all()


def test_the_gradient_given_to_the_optimizer_is_the_losss_gradient():
    rng = np.random.default_rng(3)
    x = unit_rows(rng.standard_normal((12, 8))).astype(np.float64)
    y = np.array([1.0] * 8 + [-1.0] * 4)
    weights = np.where(y > 0, 12 / 16, 12 / 8)
    objective = learner._objective(x, y, weights)

    error = check_grad(lambda p: objective(p)[0], lambda p: objective(p)[1], rng.standard_normal(9))

    assert error < 1e-5


def test_both_kinds_of_example_are_needed():
    with pytest.raises(ValueError, match="both positive and negative"):
        fit_taste(np.eye(3, dtype=np.float32), np.array([1, 1, 1]))
