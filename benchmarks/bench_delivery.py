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
`digests_send(digest_ids=chunk)` on chunks of 200. The sending figure covers the whole task:
claim + load + render + send + record.

Sending is measured twice in the same run, on alternating blocks of the planned digests (so warm-up
and drift hit both alike): with the backend's kept-alive connections, and with the per-request
connections of the SDK's own transport (a new urllib connection and `Connection: close` per
message), kept here as PerRequestBackend for the comparison only.

The baseline is how a simple digest script works: per subscriber, query the digest, query its items,
render with render_to_string, open a connection, send, save; measured on a sample of 500.

Targets on a 2-core machine: planning 100,000 subscribers in <= 60 s, >= 1,000 digests rendered per
second per core, >= 1,000 digests sent per second with kept-alive connections on two processes.
"""

from __future__ import annotations

import argparse
import http.client
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
from python_http_client import exceptions as http_exceptions  # noqa: E402
from sendgrid import SendGridAPIClient  # noqa: E402

from newsletter import mail  # noqa: E402
from newsletter.delivery.errors import DeliveryTimeout  # noqa: E402
from newsletter.delivery.sendgrid import SendGridBackend, build_mail, error_from_response  # noqa: E402
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
KEPT_ALIVE = "newsletter.delivery.sendgrid.SendGridBackend"
PER_REQUEST = f"{__name__}.PerRequestBackend"
TRANSPORT_NAMES = {PER_REQUEST: "per-request connections (the SDK's)", KEPT_ALIVE: "kept-alive connections"}
SEND_BLOCKS = 8  # alternating per-request, kept-alive, …: a busy machine's swings hit both alike


class PerRequestBackend(SendGridBackend):
    """The backend as it was before connection reuse, for comparison: the SDK's python_http_client
    (one SendGridAPIClient per backend), which opens a new connection for every message."""

    def open(self) -> bool:
        if getattr(self, "sdk", None) is not None:
            return False
        self.sdk = SendGridAPIClient(api_key=self.api_key, host=self.host)
        self.sdk.client.timeout = self.timeout
        return True

    def close(self) -> None:
        self.sdk = None

    def _send(self, message) -> None:
        try:
            response = self.sdk.client.mail.send.post(
                request_body=build_mail(message).get(), timeout=self.timeout
            )
        except http_exceptions.HTTPError as error:
            raise error_from_response(
                url=self.url, status=error.status_code, body=error.body, headers=error.headers
            ) from None
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryTimeout(f"POST {self.url}: {error!r}") from error
        message.sendgrid_message_id = response.headers.get("X-Message-Id", "")


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


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def parallel_send(digest_ids: list[int], *, backend: str) -> tuple[float, int, int]:
    chunks = [digest_ids[i : i + SEND_CHUNK] for i in range(0, len(digest_ids), SEND_CHUNK)]
    settings.EMAIL_BACKEND = backend  # read by the forked workers
    connection.close()  # each forked worker opens its own
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        sent = sum(pool.imap_unordered(_send_chunk, chunks))
    seconds = time.perf_counter() - started
    return seconds, sent, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def compare_transports(digest_ids: list[int], fake: FakeSendGrid) -> dict[str, dict[str, float]]:
    """Send alternating blocks with each transport; seconds, sent and connections per transport."""
    totals = {
        backend: {"seconds": 0.0, "sent": 0, "connections": 0, "rss": 0, "worker_cpu": 0.0, "fake_cpu": 0.0}
        for backend in TRANSPORT_NAMES
    }
    size = -(-len(digest_ids) // SEND_BLOCKS)
    load_before = os.getloadavg()[0]
    for block in range(SEND_BLOCKS):
        backend = PER_REQUEST if block % 2 == 0 else KEPT_ALIVE
        connections_before = fake.connections
        # The workers' CPU (children, counted once the pool has reaped them) and the fake's (its
        # threads run in this process, which otherwise only waits): figures a busy machine leaves
        # meaningful when it slows the wall clock.
        workers_before, fake_before = (
            _cpu_seconds(resource.RUSAGE_CHILDREN),
            _cpu_seconds(resource.RUSAGE_SELF),
        )
        seconds, sent, rss = parallel_send(digest_ids[block * size : (block + 1) * size], backend=backend)
        total = totals[backend]
        total["worker_cpu"] += _cpu_seconds(resource.RUSAGE_CHILDREN) - workers_before
        total["fake_cpu"] += _cpu_seconds(resource.RUSAGE_SELF) - fake_before
        total["seconds"] += seconds
        total["sent"] += sent
        total["connections"] += fake.connections - connections_before
        total["rss"] = max(total["rss"], rss)
    print(
        f"Sending: claim + load + render + send + record, digests_send on {WORKERS} worker processes "
        f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores: "
        "above the core count, other processes share the CPU and the digests/s fall)"
    )
    for backend, total in totals.items():
        target = "   target >= 1,000/s" if backend == KEPT_ALIVE else ""
        print(
            f"  {TRANSPORT_NAMES[backend]}: {total['sent']:,} sent in {total['seconds']:.1f}s "
            f"= {_rate(total):,.0f}/s over {total['connections']:,} TCP connections{target}\n"
            f"    CPU per digest: {total['worker_cpu'] / total['sent'] * 1000:.2f} ms in the workers, "
            f"{total['fake_cpu'] / total['sent'] * 1000:.2f} ms in the fake SendGrid"
        )
    return totals


def _rate(total: dict[str, float]) -> float:
    return total["sent"] / total["seconds"]


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
    settings.EMAIL_BACKEND = PER_REQUEST  # the simple script opens a connection per digest
    baseline_rate = baseline_send(baseline_ids)
    print(f"Baseline (one at a time, {len(baseline_ids)} digests): {baseline_rate:,.0f} digests/s")

    totals = compare_transports(main_ids, fake)
    sent = sum(total["sent"] for total in totals.values())
    kept_rate, per_request_rate = _rate(totals[KEPT_ALIVE]), _rate(totals[PER_REQUEST])
    print(
        f"  kept-alive / per-request: {kept_rate / per_request_rate:.2f}x; "
        f"kept-alive / one-at-a-time baseline: {kept_rate / baseline_rate:.1f}x"
    )
    # Computed, not measured as one run: the blocks above share the digests between two transports.
    end_to_end = plan_seconds + len(main_ids) / kept_rate
    print(
        f"End to end (plan + claim/render/send/record {len(main_ids):,} at the kept-alive rate): "
        f"{end_to_end:.1f}s = {len(main_ids) / end_to_end:,.0f} digests/s"
    )
    child_rss = max(total["rss"] for total in totals.values())
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
