"""Live interest preview figures: the whole request, warm, at 500 and at 10,000 papers in the window.

    .venv/bin/python benchmarks/bench_preview.py

Uses DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/postgres) only to reach
the server: it creates its own scratch database `paperbox_bench_preview`, migrates it, and drops it
at the end, so it never touches real data. Redis (REDIS_URL, else the embedded server) holds the
rate-limit counters, as in production.

Papers are the 573 real titles and abstracts of tests/fixtures/corpus/papers.jsonl, cycled, each copy
with its own arXiv id, day in the 30-day window, upvotes and authors. Printed per size:
- the one-time cost of building the window's index (the first request after papers change pays it),
- the median of whole requests through Django's test client with the index built (`/interests/preview/`:
  middleware, rate limit, the window's version (from the cache, or the database once a second),
  matching one interest, JSON),
- the baseline, measured in the same run: the preview as it was, rebuilding the index and building
  every match on each request (match_papers over the window's papers), and the ratio.
Target: a warm preview within 50 ms at 10,000 papers.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
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
os.environ["TEST_DATABASE_NAME"] = "paperbox_bench_preview"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from newsletter.matching import match_papers  # noqa: E402
from newsletter.matching.records import load_papers  # noqa: E402
from newsletter.subscriptions import preview  # noqa: E402
from papers.models import Paper  # noqa: E402
from papers.records import paper_records_since  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "papers.jsonl"
SIZES = (500, 10_000)
TODAY = dt.date.today()
INTERESTS = [
    "sparse autoencoder",
    "diffusion video OR audio -medical",
    '"large language model" agent*',
    "quantiz*",
    "title:reasoning benchmark",
    "reinforcement learning -robot*",
    "speech recognition",
    '"gaussian splatting"',
    "mixture of experts",
    "retrieval augmented generation",
    "LLMs",
    "vision transformer",
]
WARM_ROUNDS = 3  # every interest this many times, warm
BASELINE_INTERESTS = 4  # seconds per request: a few are enough


def make_papers(count: int, *, seed: int) -> list[Paper]:
    rng = random.Random(seed)
    now = timezone.now()
    papers = []
    for number, record in zip(range(count), itertools.cycle(load_papers(CORPUS)), strict=False):
        day = TODAY - dt.timedelta(days=rng.randrange(30))
        featured = rng.random() < 0.4  # the others are arXiv-only: dated by published_at
        papers.append(
            Paper(
                arxiv_id=f"2605.{number:05d}",
                title=record.title,
                abstract=record.abstract,
                authors=[f"Author {rng.randrange(5_000)}" for _ in range(rng.randrange(1, 8))],
                featured_on=day if featured else None,
                published_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
                upvotes=rng.randrange(300) if featured else 0,
                first_seen_at=now,
                updated_at=now,
            )
        )
    return papers


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def whole_request_ms(client: Client, text: str, address: str) -> float:
    started = time.perf_counter()
    response = client.get("/interests/preview/", {"q": text}, REMOTE_ADDR=address)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        sys.exit(f"preview of {text!r} answered {response.status_code}: {response.content[:200]!r}")
    return elapsed


def baseline_ms(text: str) -> float:
    """The preview as it was: the index rebuilt, and every match built, on each request."""
    started = time.perf_counter()
    records = paper_records_since(since=TODAY - dt.timedelta(days=preview.PREVIEW_DAYS))
    matches = match_papers([text], records, today=TODAY)
    titles = {record.id: record.title for record in records}
    [titles[match.paper_id] for match in matches[: preview.PREVIEW_EXAMPLES]]
    return (time.perf_counter() - started) * 1000


def measure(size: int) -> float:
    Paper.objects.all().delete()
    Paper.objects.bulk_create(make_papers(size, seed=size), batch_size=2_000)
    client = Client()
    addresses = (f"10.0.{n // 250}.{n % 250 + 1}" for n in itertools.count())  # below the rate limit

    # The papers changed: the first request rebuilds the process's shared index.
    gc.collect()
    before = rss_mb()
    first = whole_request_ms(client, INTERESTS[0], next(addresses))
    index_mb = rss_mb() - before
    started = time.perf_counter()
    window = preview.build_window(preview.window_version())
    rebuild = time.perf_counter() - started
    del window

    warm = [whole_request_ms(client, text, next(addresses)) for text in INTERESTS * WARM_ROUNDS]
    base = [baseline_ms(text) for text in INTERESTS[:BASELINE_INTERESTS]]
    warm_median, base_median = statistics.median(warm), statistics.median(base)
    print(f"{size:>6,} papers: index build {rebuild:.2f} s (first request {first / 1000:.2f} s, "
          f"about {index_mb:.0f} MB); warm preview median {warm_median:.1f} ms "
          f"(min {min(warm):.1f}, max {max(warm):.1f}, {len(warm)} requests); "
          f"baseline, rebuilt per request: median {base_median:,.0f} ms ({len(base)} requests); "
          f"{base_median / warm_median:,.0f}x")  # fmt: skip
    return warm_median


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit(f"bench_preview needs PostgreSQL (DATABASE_URL), not {connection.vendor}")
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        medians = {size: measure(size) for size in SIZES}
        largest = medians[max(SIZES)]
        print(f"target: warm preview <= 50 ms at {max(SIZES):,} papers: "
              f"{'met' if largest <= 50 else 'NOT met'} ({largest:.1f} ms); "
              f"{max(SIZES) // min(SIZES)}x the papers cost {largest / medians[min(SIZES)]:.1f}x the time")  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
