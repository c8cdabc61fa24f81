"""Taste models: training one reader's, loading a planning shard's, scoring candidates with them.

    .venv/bin/python benchmarks/bench_taste.py [--subscribers 20000] [--papers 2000] [--ratings 10]

Uses DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/postgres) only to reach the
server: it creates its own scratch database `paperbox_bench_taste`, migrates it and drops it at the
end (BENCH_DATABASE_NAME names another one).

Data: papers whose stored embeddings are random unit vectors (speed does not depend on what they
mean), `--subscribers` readers (one planning shard by default) with `--ratings` ratings each, 70% of
them "more like this", and a taste model each with random weights: training all of them would take
the benchmark's whole time, so training is measured on a sample.

Figures, each beside its baseline measured in the same run:
  - Training (`taste_train`: read the ratings and vectors, fit, store), readers per second; and the
    fit alone against the baseline of the same fit without the analytic gradient (scipy estimates
    it by finite differences).

OpenBLAS runs numpy's and scipy's linear algebra on threads; on a loaded two-core machine that made
fits about 60 times slower than with OPENBLAS_NUM_THREADS=1 (15 against 918 fits/s, same data), so
run it both ways and compare figures within one run.
  - Loading a shard's tastes (`load_tastes`: a few bulk queries per 1,000 readers) against loading
    them one reader at a time (its model, its ratings, its liked papers' vectors), on a sample.
  - Scoring 1,000 candidate papers for every reader of the shard: one matrix product of the stacked
    weights against `Taste.score` called reader by reader.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ["TEST_DATABASE_NAME"] = os.environ.get("BENCH_DATABASE_NAME", "paperbox_bench_taste")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from newsletter.feedback import learner  # noqa: E402
from newsletter.feedback.models import Rating, TasteModel  # noqa: E402
from newsletter.feedback.taste import load_tastes  # noqa: E402
from newsletter.feedback.training import taste_train  # noqa: E402
from newsletter.models import Subscriber  # noqa: E402
from papers.embeddings import EMBEDDING_DIM, MODEL_NAME, paper_vectors, vector_from_bytes, vector_to_bytes  # noqa: E402
from papers.models import Paper, PaperEmbedding  # noqa: E402

TRAIN_SAMPLE = 200
BASELINE_LOAD_SAMPLE = 1_000
CANDIDATES = 1_000
LIKED_SHARE = 0.7


def unit_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    rows = rng.standard_normal((count, EMBEDDING_DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def create_data(*, subscribers: int, papers: int, ratings: int) -> None:
    rng = np.random.default_rng(7)
    pick = random.Random(7)
    seen = timezone.now()
    created = Paper.objects.bulk_create(
        [Paper(arxiv_id=f"2611.{n:05d}", title=f"Paper {n}", first_seen_at=seen) for n in range(papers)],
        batch_size=5_000,
    )
    PaperEmbedding.objects.bulk_create(
        [
            PaperEmbedding(paper=paper, model=MODEL_NAME, vector=vector_to_bytes(vector), text_hash="random")
            for paper, vector in zip(created, unit_rows(rng, papers), strict=True)
        ],
        batch_size=5_000,
    )
    people = Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{n}@example.com", status="active") for n in range(subscribers)],
        batch_size=10_000,
    )
    paper_ids = [paper.id for paper in created]
    Rating.objects.bulk_create(
        [
            Rating(subscriber=person, paper_id=paper_id, value=1 if pick.random() < LIKED_SHARE else -1)
            for person in people
            for paper_id in pick.sample(paper_ids, ratings)
        ],
        batch_size=20_000,
    )
    weights = unit_rows(rng, subscribers)
    TasteModel.objects.bulk_create(
        [
            TasteModel(
                subscriber=person,
                weights=vector_to_bytes(row),
                bias=0.0,
                ratings_count=ratings,
                fingerprint="",
                model=MODEL_NAME,
            )
            for person, row in zip(people, weights, strict=True)
        ],
        batch_size=10_000,
    )


def measure_training(subscriber_ids: list[int]) -> tuple[float, float, float]:
    """(readers/s with taste_train, fits/s with the gradient, fits/s estimating it)."""
    started = time.perf_counter()
    for subscriber_id in subscriber_ids:
        taste_train(subscriber_id=subscriber_id)
    trained = len(subscriber_ids) / (time.perf_counter() - started)
    problems = [_training_problem(subscriber_id) for subscriber_id in subscriber_ids[:50]]
    started = time.perf_counter()
    for vectors, labels in problems:
        learner.fit_taste(vectors, labels)
    analytic = len(problems) / (time.perf_counter() - started)
    started = time.perf_counter()
    for vectors, labels in problems:
        _fit_with_estimated_gradient(vectors, labels)
    estimated = len(problems) / (time.perf_counter() - started)
    return trained, analytic, estimated


def _training_problem(subscriber_id: int) -> tuple[np.ndarray, np.ndarray]:
    ratings = dict(Rating.objects.filter(subscriber_id=subscriber_id).values_list("paper_id", "value"))
    ids, vectors = paper_vectors(ratings)
    labels = np.array([ratings[int(i)] for i in ids])
    if len(set(labels.tolist())) < 2:  # a reader whose ratings all went one way: add the other
        labels[0] = -labels[0]
    return vectors, labels


def _fit_with_estimated_gradient(vectors: np.ndarray, labels: np.ndarray) -> None:
    """The baseline: the same problem handed to scipy without its gradient (estimated by differences)."""
    x, y = vectors.astype(np.float64), labels.astype(np.float64)
    positives = np.count_nonzero(y > 0)
    weight = np.where(y > 0, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))
    objective = learner._objective(x, y, weight)
    minimize(lambda p: objective(p)[0], np.zeros(x.shape[1] + 1), method="L-BFGS-B")


def load_one_by_one(subscriber_ids: list[int]) -> int:
    """The baseline: per reader, its model, its ratings and its liked papers' vectors."""
    loaded = 0
    for subscriber_id in subscriber_ids:
        model = TasteModel.objects.filter(subscriber_id=subscriber_id, model=MODEL_NAME).first()
        if model is None:
            continue
        ratings = dict(Rating.objects.filter(subscriber_id=subscriber_id).values_list("paper_id", "value"))
        paper_vectors([paper_id for paper_id, value in ratings.items() if value > 0])
        vector_from_bytes(bytes(model.weights))
        loaded += 1
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--ratings", type=int, default=10)
    options = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(options)
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(options: argparse.Namespace) -> None:
    print(
        f"Creating {options.papers:,} embedded papers and {options.subscribers:,} readers with "
        f"{options.ratings} ratings and a taste model each…"
    )
    t0 = time.perf_counter()
    create_data(subscribers=options.subscribers, papers=options.papers, ratings=options.ratings)
    print(f"  data created in {time.perf_counter() - t0:.1f}s")
    subscriber_ids = list(Subscriber.objects.order_by("id").values_list("id", flat=True))

    trained, analytic, estimated = measure_training(subscriber_ids[:TRAIN_SAMPLE])
    print(
        f"Training ({TRAIN_SAMPLE} readers): {trained:,.0f} readers/s with taste_train (reads, fit, store); "
        f"the fit alone {analytic:,.0f}/s with the analytic gradient vs {estimated:,.1f}/s estimating it "
        f"(baseline) = {analytic / estimated:,.0f}x"
    )

    started = time.perf_counter()
    tastes = load_tastes(subscriber_ids)
    bulk_seconds = time.perf_counter() - started
    sample = subscriber_ids[-BASELINE_LOAD_SAMPLE:]
    started = time.perf_counter()
    load_one_by_one(sample)
    one_rate = len(sample) / (time.perf_counter() - started)
    bulk_rate = len(tastes) / bulk_seconds
    print(
        f"Loading: load_tastes for {len(tastes):,} readers in {bulk_seconds:.2f}s = {bulk_rate:,.0f} readers/s; "
        f"baseline one reader at a time ({len(sample):,}): {one_rate:,.0f} readers/s = {bulk_rate / one_rate:.1f}x"
    )

    candidates = unit_rows(np.random.default_rng(11), CANDIDATES)
    ordered = list(tastes.values())
    started = time.perf_counter()
    weights = np.vstack([taste.weights for taste in ordered])
    biases = np.array([taste.bias for taste in ordered], dtype=np.float32)
    scores = weights @ candidates.T + biases[:, None]
    stacked = time.perf_counter() - started
    started = time.perf_counter()
    for taste in ordered:
        taste.score(candidates)
    looped = time.perf_counter() - started
    print(
        f"Scoring {CANDIDATES:,} papers for {len(ordered):,} readers ({scores.size:,} scores): one matrix "
        f"product {stacked:.2f}s vs Taste.score per reader {looped:.2f}s (baseline) = {looped / stacked:.1f}x; "
        f"1,000,000 readers at the product's rate: {stacked * 1_000_000 / len(ordered):.0f}s"
    )


if __name__ == "__main__":
    main()
