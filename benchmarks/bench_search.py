"""The papers search box on PostgreSQL: the whole page for an interest-language line, 20,000 and 100,000 papers.

    .venv/bin/python benchmarks/bench_search.py [--sizes 20000 100000] [--rounds 5] [--baseline-rounds 1]

Uses DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/postgres) only to reach
the server: it creates its own scratch database `paperbox_bench_search`, migrates it, and drops it at
the end. Papers are the real corpus (tests/fixtures/corpus/papers.jsonl, 573 titles and abstracts)
cycled: each gets a corpus title and an abstract recombined from the real sentences of three corpus
abstracts, synthetic authors from a pool, synthetic upvotes and a featured day in the last 400 days,
ingested through papers_ingest then papers_refresh_search_terms, as a fetch does. For each line it prints the median
time of `GET /papers/?q=LINE` (Django's test client: pre-filter query, loading, matching, rendering
the first page) and how many papers the pre-filter passed, against the baseline: the matcher over
every paper with no pre-filter, measured in the same run. The matcher's caches are emptied before
every timed call (a cold process). "matches" is the total when the first page's search matched
every candidate, "many" when it stopped early (the page needs only the best 31).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ["TEST_DATABASE_NAME"] = "paperbox_bench_search"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from newsletter.matching import match_papers  # noqa: E402
from newsletter.matching import normalize as matching_normalize  # noqa: E402
from papers.models import Paper  # noqa: E402
from papers.records import paper_records_of  # noqa: E402
from papers.search import paper_search  # noqa: E402
from papers.services import papers_ingest, papers_refresh_search_terms  # noqa: E402
from papers.sources.records import PaperRecord  # noqa: E402
from papers.views import SEARCH_PAGE_SIZE  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "papers.jsonl"
TODAY = dt.date(2026, 5, 8)
LINES = [
    '"gaussian splatting"',
    '"diffusion language"',
    "diffusion -video",
    "LLM",
    "RL",
    "agent*",
    "title:benchmark",
    "reasoning OR planning",
    'author:"Ada Lovelace"',
    "model",
]
BASELINE_LINES = ["LLM"]
INGEST_BATCH = 2000
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def corpus() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def generated(start: int, count: int, papers: list[dict], *, seed: int) -> list[PaperRecord]:
    rng = random.Random(seed)
    sentences = [SENTENCE.split(paper["abstract"]) for paper in papers]
    authors = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    records = []
    for number in range(start, start + count):
        base = number % len(papers)
        mixed = [
            s
            for source in (base, rng.randrange(len(papers)), rng.randrange(len(papers)))
            for s in sentences[source][:4]
        ]
        featured = TODAY - dt.timedelta(days=rng.randrange(400))
        records.append(
            PaperRecord(
                arxiv_id=f"26{number // 100_000:02d}.{number % 100_000:05d}",
                title=papers[base]["title"],
                source="hf-api",
                abstract=" ".join(mixed),
                authors=rng.sample(authors, k=rng.randrange(1, 8)),
                published_at=f"{featured - dt.timedelta(days=rng.randrange(10))}T12:00:00+00:00",
                featured_on=featured.isoformat(),
                upvotes=int(rng.paretovariate(1.2)) - 1,
            )
        )
    return records


def cold() -> None:
    """Forget what the matcher cached from earlier calls, as in a fresh worker process."""
    matching_normalize.tokenize.cache_clear()
    matching_normalize.normalize_word.cache_clear()


def median_seconds(function, rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        cold()
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def page(client: Client, line: str) -> None:
    response = client.get("/papers/", {"q": line})
    assert response.status_code == 200, (line, response.status_code)


def baseline(line: str) -> None:
    """The matcher over every paper, no pre-filter: what the search costs without one."""
    records = paper_records_of(papers=Paper.objects.order_by("id"))
    match_papers([line], records, today=TODAY)


def fill_to(size: int, papers: list[dict]) -> None:
    have = Paper.objects.count()
    started = time.perf_counter()
    for start in range(have, size, INGEST_BATCH):
        count = min(INGEST_BATCH, size - start)
        papers_ingest(records=generated(start, count, papers, seed=start), source="hf-api")
    papers_refresh_search_terms()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE papers_paper")
    print(f"\n{size:,} papers ({size - have:,} ingested in {time.perf_counter() - started:.0f} s)")


def sizes() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('papers_paper')),"
            " pg_size_pretty(pg_relation_size('paper_search_terms_gin')),"
            " pg_size_pretty(avg(pg_column_size(search_terms))::bigint) FROM papers_paper"
        )
        table, index, per_paper = cursor.fetchone()
    return f"table with indexes {table}, search terms index {index}, search terms {per_paper} per paper"


def measure(size: int, rounds: int, baseline_rounds: int) -> None:
    print(f"  {sizes()}")
    client = Client()
    base = {
        line: median_seconds(lambda line=line: baseline(line), baseline_rounds) for line in BASELINE_LINES
    }
    base_median = statistics.median(base.values())
    for line, seconds in base.items():
        print(f"  baseline, matcher over all {size:,} papers, {line!r}: {seconds:.2f} s")
    print(f"  {'line':<26} {'candidates':>10} {'matches':>8} {'page (median)':>14} {'vs baseline':>12}")
    for line in LINES:
        # What the first page reads: the candidates, and the total when it matched them all.
        first_page = paper_search(line=line, today=TODAY, limit=SEARCH_PAGE_SIZE + 1)
        total = f"{first_page.total:,}" if first_page.total is not None else "many"
        seconds = median_seconds(lambda line=line: page(client, line), rounds)
        print(
            f"  {line:<26} {first_page.candidates:>10,} {total:>8} {seconds * 1000:>11.0f} ms"
            f" {base_median / seconds:>11.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-rounds", type=int, default=1)
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(f"bench_search needs PostgreSQL (DATABASE_URL), not {connection.vendor}")
    papers = corpus()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        timezone.activate("UTC")
        for size in sorted(options.sizes):
            fill_to(size, papers)
            measure(size, options.rounds, options.baseline_rounds)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


FIRST_NAMES = [
    "Ada",
    "Alan",
    "Grace",
    "Claude",
    "Yoshua",
    "Fei-Fei",
    "Zoë",
    "José",
    "Wei",
    "Priya",
    "Amara",
    "Lars",
]
LAST_NAMES = ["Lovelace", "Turing", "Hopper", "Shannon", "Bengio", "Li", "Müller", "García", "Zhang", "Patel"]

if __name__ == "__main__":
    main()
