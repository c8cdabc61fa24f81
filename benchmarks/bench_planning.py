"""Planning a run end to end through real Celery workers: 100,000 and 1,000,000 subscribers, 1 and 2 workers.

    .venv/bin/python benchmarks/bench_planning.py [--subscribers 1000000] [--sizes 100000,1000000]
                                                  [--workers 1,2] [--templates 200000]

Uses DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/postgres) only to reach the
server: it creates the scratch database `paperbox_bench_planning`, migrates it and drops it at the
end. REDIS_URL (default redis://127.0.0.1:6379/14) is the broker; the benchmark purges it.

The data: the largest size of subscribers (active, daily, their send hour passed), each following 5
interests drawn with Zipf-like popularity from --templates distinct texts made of the real corpus's
words, phrases, acronyms, prefixes, ORs, exclusions and fields; 1,000 papers that arrived an hour
ago (the corpus, extended by recombining its sentences). Interests are stored as the service stores
them (text, canonical key, compiled form). A smaller size pauses the subscribers past it.

Each measurement: the coordinator (the beat task's body, here) splits the mailable subscribers into
shards and queues them; `celery worker -Q planning` processes (one process with --concurrency 1 or
2) plan the shards. Timed from the coordinator's start to the run's last shard, with the peak
resident memory of each pool process (psutil, sampled every 50 ms). Send tasks go to the default
queue, which no worker here reads: only planning is measured. The baseline is the same run with
one worker; the ratio is the speed-up of two.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ["TEST_DATABASE_NAME"] = "paperbox_bench_planning"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["PLANNING_QUEUE"] = "planning"

import django  # noqa: E402

django.setup()


import bench_match_command as workload  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from config.celery import app  # noqa: E402
from newsletter import tasks  # noqa: E402
from newsletter.digests.bulk import insert_ignoring_conflicts  # noqa: E402
from newsletter.matching import InterestSyntaxError, compiled_form  # noqa: E402
from newsletter.matching.compiler import _compile_cached  # noqa: E402
from newsletter.models import Interest, PlanningRun, Subscriber, email_hash  # noqa: E402
from papers.models import Paper  # noqa: E402

INTERESTS_PER_SUBSCRIBER = 5
BLOCK = 50_000


def create_papers(count: int) -> None:
    seen = timezone.now() - timedelta(hours=1)
    Paper.objects.bulk_create(
        [
            Paper(
                arxiv_id=f"2611.{record.id:05d}",
                title=record.title,
                abstract=record.abstract,
                authors=list(record.authors),
                ai_keywords=list(record.ai_keywords),
                upvotes=record.upvotes,
                first_seen_at=seen,
            )
            for record in workload.workload.build_papers(count, random.Random(2026))
        ],
        batch_size=2000,
    )


def create_subscribers(count: int, templates: int) -> int:
    """Subscribers and their interests through COPY; returns how many distinct texts are in use."""
    papers = workload.workload.build_papers(1000, random.Random(2026))
    rng = np.random.default_rng(2026)
    texts = workload.many_templates(workload.workload.interest_atoms(papers), templates, rng)
    popularity = 1.0 / np.arange(1, len(texts) + 1) ** workload.POPULARITY_EXPONENT
    drawn = rng.choice(len(texts), size=(count, INTERESTS_PER_SUBSCRIBER), p=popularity / popularity.sum())
    stored = {}  # text number -> (canonical, compiled JSON): compiled once per distinct text
    created = timezone.now() - timedelta(days=30)
    for start in range(0, count, BLOCK):
        end = min(start + BLOCK, count)
        with transaction.atomic():  # COPY's staging table lives until the commit
            _insert_subscribers(start, end, created)
        ids = dict(
            Subscriber.objects.filter(email__in=[_email(n) for n in range(start, end)]).values_list(
                "email", "id"
            )
        )
        rows = []
        for n in range(start, end):
            for position, number in enumerate(dict.fromkeys(drawn[n].tolist())):
                if number not in stored:
                    stored[number] = _stored_form(texts[number])
                canonical, compiled = stored[number]
                rows.append((ids[_email(n)], texts[number], canonical, compiled, position, created))
        with transaction.atomic():
            insert_ignoring_conflicts(
                Interest, ["subscriber_id", "text", "canonical", "compiled", "position", "created_at"], rows
            )
    return len(np.unique(drawn))


def _email(number: int) -> str:
    return f"reader{number}@example.com"


def _insert_subscribers(start: int, end: int, created) -> None:
    columns = [
        "key", "email", "email_hash", "status", "frequency", "weekday", "send_hour", "time_zone",
        "papers_per_digest", "created_at", "confirmed_at",
    ]  # fmt: skip
    # Every other NOT NULL column takes its model default, so a new column does not break the benchmark.
    defaults = {
        field.column: field.get_default()
        for field in Subscriber._meta.concrete_fields
        if field.has_default() and field.column not in columns and not field.primary_key
    }
    columns += list(defaults)
    rows = [
        (
            uuid.uuid4(),
            _email(n),
            email_hash(_email(n)),
            "active",
            "daily",
            0,
            0,
            "UTC",
            10,
            created,
            created,
            *defaults.values(),
        )
        for n in range(start, end)
    ]
    insert_ignoring_conflicts(Subscriber, columns, rows)


def _stored_form(text: str) -> tuple[str, str | None]:
    try:
        return _compile_cached(text).key, json.dumps(compiled_form(text))
    except InterestSyntaxError:
        return text[:400], None


def reset_runs() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE newsletter_digestitem, newsletter_deliveryevent, newsletter_digest, "
            "newsletter_planningshard, newsletter_planningrun"
        )
    app.control.purge()
    with app.connection_for_write() as broker:
        broker.default_channel.client.delete("planning")


def keep_first(size: int) -> None:
    """Only the first `size` subscribers are mailable; the others are paused."""
    first_paused = Subscriber.objects.order_by("id").values_list("id", flat=True)[size : size + 1]
    Subscriber.objects.update(status="active")
    if first_paused:
        Subscriber.objects.filter(id__gte=first_paused[0]).update(status="paused")


class Worker:
    """`celery worker -Q planning --concurrency N` on the scratch database, with its pool's peak memory."""

    def __init__(self, concurrency: int) -> None:
        database = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}",
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "planning",
            "--loglevel=WARNING",
        ]
        command += [f"--concurrency={concurrency}", "--pool=prefork", "--without-gossip", "--without-mingle"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.concurrency = concurrency
        self.peaks: dict[int, int] = {}
        self._watching = True
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while len(psutil.Process(self.process.pid).children()) < self.concurrency:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"worker did not start: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        time.sleep(2)  # the pool processes import Django and connect to the broker
        self._thread.start()

    def _watch(self) -> None:
        parent = psutil.Process(self.process.pid)
        while self._watching:
            for child in parent.children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.peaks[child.pid] = max(self.peaks.get(child.pid, 0), child.memory_info().rss)
            time.sleep(0.05)

    def stop(self) -> None:
        self._watching = False
        self.process.terminate()
        self.process.wait(timeout=60)


def measure(concurrency: int) -> tuple[float, PlanningRun, list[int]]:
    reset_runs()
    worker = Worker(concurrency)
    try:
        worker.wait_ready()
        started = time.perf_counter()
        result = tasks.plan_digests()  # the coordinator: queues one plan_digest_shard per shard
        run = PlanningRun.objects.get(pk=result["run"])
        while run.status == PlanningRun.Status.RUNNING:
            time.sleep(0.2)
            run.refresh_from_db()
        seconds = time.perf_counter() - started
    finally:
        worker.stop()
    return seconds, run, sorted(worker.peaks.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--templates", type=int, default=200_000)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    workers = [int(count) for count in args.workers.split(",")]

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        create_papers(1000)
        distinct = create_subscribers(max(sizes), args.templates)
        print(
            f"data: {max(sizes):,} subscribers x {INTERESTS_PER_SUBSCRIBER} interests ({distinct:,} distinct "
            f"texts), 1,000 papers; shards of {tasks_shard_size():,} ({time.perf_counter() - started:.0f} s to load)"
        )
        for size in sizes:
            keep_first(size)
            baseline = None
            for count in workers:
                seconds, run, peaks = measure(count)
                baseline = baseline or seconds
                print(
                    f"{size:>9,} subscribers, {count} worker process{'es' if count > 1 else ''}: {seconds:6.1f} s "
                    f"({run.planned:,} planned, {run.items:,} items, {run.shards} shards, status {run.status}); "
                    f"peak memory per worker process {', '.join(f'{peak / 2**20:,.0f} MiB' for peak in peaks)}; "
                    f"{baseline / seconds:.2f}x one worker"
                )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def tasks_shard_size() -> int:
    from newsletter.digests.runs import shard_size

    return shard_size()


if __name__ == "__main__":
    main()
