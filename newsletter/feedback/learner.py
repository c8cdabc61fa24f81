"""Fitting a reader's taste: L2-regularised logistic regression with balanced classes.

As Scholar Inbox and arxiv-sanity-lite do, each reader gets a linear classifier over the papers'
sentence embeddings: "more like this" papers are positives, "less like this" ones negatives. Classes
are weighted to count equally, so ten likes and one dislike do not teach "like everything".

A fit is a few dozen rows by 384 columns: numpy and scipy's L-BFGS do it in milliseconds, which a
dependency such as scikit-learn (whose LogisticRegression solves the same problem) would not improve.
Pure numpy in, numpy out: no database, no embedding model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

# Strength of the L2 penalty, as scikit-learn's C (larger = weaker penalty). Embeddings are unit
# vectors, so the default of 1 keeps weights small and the ranking smooth.
REGULARISATION_C = 1.0


@dataclass(frozen=True)
class FittedTaste:
    weights: np.ndarray
    bias: float


def fit_taste(vectors: np.ndarray, labels: np.ndarray, *, c: float = REGULARISATION_C) -> FittedTaste:
    """L2-regularised logistic regression with balanced class weights.

    `vectors` (n, d) float32; `labels` (n,) of +1 and -1, both present. Minimises
    0.5 * |w|^2 + c * sum_i weight_i * log(1 + exp(-y_i (x_i . w + b))); the bias is not penalised.
    """
    x = vectors.astype(np.float64)
    y = labels.astype(np.float64)
    positives = np.count_nonzero(y > 0)
    negatives = len(y) - positives
    if not positives or not negatives:
        raise ValueError("fit_taste needs both positive and negative examples")
    # Each class weighs as much as the other in total (scikit-learn's class_weight="balanced").
    sample_weight = np.where(y > 0, len(y) / (2 * positives), len(y) / (2 * negatives)) * c

    start = np.zeros(x.shape[1] + 1)
    result = minimize(_objective(x, y, sample_weight), start, jac=True, method="L-BFGS-B")
    return FittedTaste(weights=result.x[:-1].astype(np.float32), bias=float(result.x[-1]))


def _objective(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray):
    """The loss of parameters [w..., b] and its gradient, for scipy.optimize.minimize(jac=True)."""

    def loss_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        margins = y * (x @ w + b)
        loss = 0.5 * w @ w + sample_weight @ np.logaddexp(0.0, -margins)
        # d/dm log(1 + e^-m) = -1 / (1 + e^m) = -sigmoid(-m)
        slopes = -sample_weight * y * _sigmoid(-margins)
        return loss, np.append(w + x.T @ slopes, slopes.sum())

    return loss_and_gradient


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * values))  # no overflow warning for large |values|
