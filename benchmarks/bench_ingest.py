"""Paper ingestion figures: parse time for a real Hugging Face day, ingest rate into PostgreSQL.

    .venv/bin/python benchmarks/bench_ingest.py

Uses DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/postgres) only to reach
the server: it creates its own scratch database `paperbox_bench_ingest`, migrates it, and drops it
at the end, so it never touches real data. Targets: at least 5,000 papers/s, and at least 10x the
one-save()-per-paper baseline measured in the same run.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ["TEST_DATABASE_NAME"] = "paperbox_bench_ingest"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from papers.models import Paper  # noqa: E402
from papers.services import papers_ingest  # noqa: E402
from papers.sources.hf_api import parse_daily_papers  # noqa: E402
from papers.sources.hf_page import parse_daily_papers_page  # noqa: E402
from papers.sources.records import PaperRecord  # noqa: E402
from tests.fakes.upstream import hf_api_body, hf_page_html  # noqa: E402

PAPERS = 10_000
BASELINE_PAPERS = 2_000  # one save() each is slow; its rate is what matters
PARSE_ROUNDS = 30
WORDS = [
    "diffusion",
    "agent",
    "reasoning",
    "benchmark",
    "language",
    "model",
    "vision",
    "retrieval",
    "policy",
    "scaling",
    "sparse",
]


def median_ms(function, rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def generated_records(count: int, *, seed: int) -> list[PaperRecord]:
    rng = random.Random(seed)
    return [
        PaperRecord(
            arxiv_id=f"26{i // 100_000:02d}.{i % 100_000:05d}",
            title=" ".join(rng.choices(WORDS, k=10)).capitalize(),
            source="hf-api",
            abstract=" ".join(rng.choices(WORDS, k=150)),
            authors=[f"Author {rng.randrange(10_000)}" for _ in range(rng.randrange(1, 12))],
            published_at="2026-05-03T00:00:00+00:00",
            featured_on="2026-05-08",
            upvotes=rng.randrange(200),
            comment_count=rng.randrange(10),
            ai_summary=" ".join(rng.choices(WORDS, k=25)),
            ai_keywords=rng.choices(WORDS, k=5),
            categories=["cs.CL", "cs.AI"],
        )
        for i in range(count)
    ]


def one_save_per_paper(records: list[PaperRecord]) -> None:
    """The naive way: look each paper up, then save() it, one round trip after another."""
    now = timezone.now()
    for record in records:
        paper = Paper.objects.filter(arxiv_id=record.arxiv_id).first() or Paper(arxiv_id=record.arxiv_id)
        paper.title, paper.abstract, paper.authors = record.title, record.abstract, record.authors
        paper.published_at, paper.featured_on = record.published_at, record.featured_on
        paper.upvotes, paper.comment_count = record.upvotes, record.comment_count
        paper.ai_summary, paper.ai_keywords, paper.categories = (
            record.ai_summary,
            record.ai_keywords,
            record.categories,
        )
        paper.sources, paper.updated_at = ["hf-api"], now
        paper.save()


def rate(count: int, seconds: float) -> float:
    return count / seconds


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit(f"bench_ingest needs PostgreSQL (DATABASE_URL), not {connection.vendor}")
    html, body = hf_page_html(), hf_api_body()
    print(f"parse 37-paper Hugging Face page (HTML, {len(html) // 1024} KB): "
          f"{median_ms(lambda: parse_daily_papers_page(html, url='bench'), PARSE_ROUNDS):.1f} ms (median)")  # fmt: skip
    print(f"parse 37-paper Hugging Face API response (JSON, {len(body) // 1024} KB): "
          f"{median_ms(lambda: parse_daily_papers(body, url='bench'), PARSE_ROUNDS):.1f} ms (median)")  # fmt: skip

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        records = generated_records(PAPERS, seed=1)
        seconds = timed(lambda: papers_ingest(records=records, source="hf-api"))
        bulk_rate = rate(PAPERS, seconds)
        print(f"ingest {PAPERS:,} new papers (papers_ingest): {seconds:.2f} s, {bulk_rate:,.0f} papers/s")

        changed = generated_records(PAPERS, seed=2)  # same ids, other values: every row updated
        seconds = timed(lambda: papers_ingest(records=changed, source="hf-api"))
        print(f"re-ingest {PAPERS:,} changed papers: {seconds:.2f} s, {rate(PAPERS, seconds):,.0f} papers/s")
        seconds = timed(lambda: papers_ingest(records=changed, source="hf-api"))
        print(
            f"re-ingest {PAPERS:,} unchanged papers: {seconds:.2f} s, {rate(PAPERS, seconds):,.0f} papers/s"
        )

        Paper.objects.all().delete()
        baseline = generated_records(BASELINE_PAPERS, seed=3)
        seconds = timed(lambda: one_save_per_paper(baseline))
        baseline_rate = rate(BASELINE_PAPERS, seconds)
        print(
            f"baseline, one save() per paper ({BASELINE_PAPERS:,} new papers): {baseline_rate:,.0f} papers/s"
        )
        print(f"ratio: {bulk_rate / baseline_rate:.1f}x (target >= 10x); "
              f"rate target >= 5,000 papers/s: {'met' if bulk_rate >= 5000 else 'NOT met'}")  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
