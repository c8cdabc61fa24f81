"""Digest delivery figures: planning, rendering and sending 100,000 digests, against a baseline.

    .venv/bin/python benchmarks/bench_delivery.py [--subscribers 100000] [--papers 1000] [--until render]

Uses DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/postgres) only to reach the
server: it creates its own scratch database `paperbox_bench_delivery`, migrates it and drops it at
the end (BENCH_DATABASE_NAME names another one). REDIS_URL (default redis://127.0.0.1:6379/0) holds the
planner's lock. `--until render` stops after planning and rendering, to compare rendering figures without
the minutes of sending. Sending goes to the loopback fake SendGrid (tests/fakes/sendgrid.py, schema validation off
so the fake does not eat the CPU it shares with the senders, and counting accepted messages instead of
keeping their bodies) through the real SDK and backend, from
TWO worker processes (multiprocessing, fork) running the same service the Celery task runs:
`digests_send(digest_ids=chunk)` on chunks of 200.

The baseline is how a simple digest script works: per subscriber, query the digest, query its items,
render with render_to_string, open a connection, send, save; measured on a sample of 500.

Targets on a 2-core machine: planning 100,000 subscribers in <= 60 s, >= 1,000 digests rendered per
second per core, >= 300 digests sent per second end to end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ["TEST_DATABASE_NAME"] = os.environ.get("BENCH_DATABASE_NAME", "paperbox_bench_delivery")
# The planner's lock lives in Redis (nothing else of the benchmark does).
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from newsletter import mail  # noqa: E402
from newsletter.digests.rendering import DigestRenderer  # noqa: E402
from newsletter.digests.runs import digests_plan  # noqa: E402
from newsletter.digests.selectors import digest_views  # noqa: E402
from newsletter.digests.sending import SEND_CHUNK, digests_send  # noqa: E402
from newsletter.matching import canonical_interest  # noqa: E402
from newsletter.models import Digest, DigestItem, Interest, Subscriber  # noqa: E402
from papers.models import Paper  # noqa: E402
from tests.fakes.sendgrid import FakeSendGrid  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "papers.jsonl"
INTERESTS = [
    "diffusion", "reinforcement learning", "speech recognition", "retrieval", "language model",
    "video generation", "graph neural network", "robot", "agents", "reasoning", "benchmark",
    "multimodal", "code generation", "quantization", "attention", "question answering",
    "machine translation", "image generation", "dialogue", "interpretability",
]  # fmt: skip
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "America/Los_Angeles"]
WORKERS = 2
BASELINE_SAMPLE = 500
RENDER_SAMPLE = 5_000


def create_data(*, subscribers: int, papers: int) -> None:
    rng = random.Random(7)
    rows = [json.loads(line) for line in CORPUS.open()]
    seen = timezone.now() - timedelta(hours=1)
    Paper.objects.bulk_create(
        [
            Paper(
                arxiv_id=f"2611.{n:05d}",
                title=rows[n % len(rows)]["title"] + ("" if n < len(rows) else f" (v{n // len(rows)})"),
                abstract=rows[n % len(rows)]["abstract"],
                authors=[f"Author {rng.randrange(5000)}" for _ in range(rng.randrange(1, 12))],
                upvotes=rng.randrange(300),
                github_repo=f"https://github.com/example/repo{n}" if n % 3 == 0 else "",
                first_seen_at=seen,
            )
            for n in range(papers)
        ],
        batch_size=2000,
    )
    created = timezone.now() - timedelta(days=30)
    people = Subscriber.objects.bulk_create(
        [
            Subscriber(
                email=f"reader{n}@example.com",
                status="active",
                time_zone=rng.choice(ZONES),
                send_hour=rng.randrange(24),
                papers_per_digest=10,
                created_at=created,
                confirmed_at=created,
            )
            for n in range(subscribers)
        ],
        batch_size=10_000,
    )
    Interest.objects.bulk_create(
        [
            Interest(subscriber_id=person.id, text=text, canonical=canonical_interest(text), position=p)
            for person in people
            for p, text in enumerate(rng.sample(INTERESTS, rng.randrange(1, 4)))
        ],
        batch_size=10_000,
    )


def baseline_send(digest_ids: list[int]) -> float:
    """One digest at a time: query, query, render_to_string, new connection, send, save."""
    started = time.perf_counter()
    for digest_id in digest_ids:
        digest = Digest.objects.select_related("subscriber").get(id=digest_id)
        items = list(DigestItem.objects.filter(digest=digest).select_related("paper").order_by("rank"))
        [view] = [v for v in digest_views(digest_ids=[digest.id])]  # same data, no reuse across digests
        context = DigestRenderer().context(view)
        message = mail.build_message(
            "digest", to=digest.subscriber.email, context=context, headers={"List-Unsubscribe": "<x>"}
        )
        message.send()
        digest.status, digest.sent_at, digest.paper_count = "sent", timezone.now(), len(items)
        digest.save()
    return len(digest_ids) / (time.perf_counter() - started)


def _send_chunk(chunk: list[int]) -> int:
    return digests_send(digest_ids=chunk).sent


def parallel_send(digest_ids: list[int]) -> tuple[float, int, int]:
    chunks = [digest_ids[i : i + SEND_CHUNK] for i in range(0, len(digest_ids), SEND_CHUNK)]
    connection.close()  # each forked worker opens its own
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        sent = sum(pool.imap_unordered(_send_chunk, chunks))
    seconds = time.perf_counter() - started
    return seconds, sent, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def measure_rendering(digest_ids: list[int]) -> tuple[float, float]:
    """(digests/s rendering only, digests/s including the two bulk queries per chunk)."""
    render_seconds = 0.0
    started = time.perf_counter()
    for start in range(0, len(digest_ids), SEND_CHUNK):
        views = digest_views(digest_ids=digest_ids[start : start + SEND_CHUNK])
        renderer = DigestRenderer()
        t0 = time.perf_counter()
        for view in views:
            renderer.message(view)
        render_seconds += time.perf_counter() - t0
    return len(digest_ids) / render_seconds, len(digest_ids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=1_000)
    parser.add_argument("--until", choices=["render", "send"], default="send", help="the last stage to run")
    options = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with FakeSendGrid(api_key="SG.bench", validate=False, keep_bodies=False) as fake:
            settings.EMAIL_BACKEND = "newsletter.delivery.sendgrid.SendGridBackend"
            settings.SENDGRID_API_KEY, settings.SENDGRID_API_HOST = fake.api_key, fake.url
            run(options, fake)
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(options: argparse.Namespace, fake: FakeSendGrid) -> None:
    print(f"Creating {options.subscribers:,} active subscribers and {options.papers:,} new papers…")
    t0 = time.perf_counter()
    create_data(subscribers=options.subscribers, papers=options.papers)
    print(f"  data created in {time.perf_counter() - t0:.1f}s")

    started = time.perf_counter()
    report = digests_plan(force=True)
    plan_seconds = time.perf_counter() - started
    ids = sorted(report.planned_ids)
    print(
        f"Planning: {report.due:,} subscribers in {plan_seconds:.1f}s = {report.due / plan_seconds:,.0f}/s "
        f"({report.planned:,} digests, {report.items:,} items, {report.skipped:,} skipped)   target <= 60 s"
    )

    render_only, render_loaded = measure_rendering(ids[:RENDER_SAMPLE])
    print(
        f"Rendering (1 process, {min(RENDER_SAMPLE, len(ids)):,} digests): {render_only:,.0f}/s rendering only, "
        f"{render_loaded:,.0f}/s with the bulk loads   target >= 1,000/s per core"
    )
    if options.until == "render":
        return

    baseline_ids, main_ids = ids[-BASELINE_SAMPLE:], ids[:-BASELINE_SAMPLE]
    baseline_rate = baseline_send(baseline_ids)
    print(f"Baseline (one at a time, {len(baseline_ids)} digests): {baseline_rate:,.0f} digests/s")

    send_seconds, sent, child_rss = parallel_send(main_ids)
    print(
        f"Sending ({WORKERS} worker processes, {len(main_ids):,} digests): {sent:,} sent in {send_seconds:.1f}s "
        f"= {sent / send_seconds:,.0f}/s ({sent / send_seconds / baseline_rate:.1f}x baseline)   target >= 300/s"
    )
    end_to_end = plan_seconds + send_seconds
    print(
        f"End to end (plan + render + send {sent:,}): {end_to_end:.1f}s = {sent / end_to_end:,.0f} digests/s"
    )
    print(
        f"Peak memory: planner/parent {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB, "
        f"largest sender {child_rss / 1024:,.0f} MB"
    )
    accepted = fake.accepted_count
    assert accepted == sent + len(baseline_ids), (
        f"fake accepted {accepted}, expected {sent + len(baseline_ids)}"
    )
    assert Digest.objects.filter(status="planned").count() == 0


if __name__ == "__main__":
    main()
