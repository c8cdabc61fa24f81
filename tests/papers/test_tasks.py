"""The beat-scheduled fetch through a REAL Celery worker on the real broker, against loopback sources."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from config.celery import app
from papers.models import FetchRun, Paper, PaperEmbedding
from papers.services import fetch_jobs
from papers.sources.errors import TransientFetchError
from papers.tasks import fetch_latest, fetch_papers
from tests.conftest import ROOT, WorkerProcess, subprocess_env, wait_until
from tests.fakes.upstream import Reply, Upstream, arxiv_rss_body, hf_page_html


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


@pytest.fixture
def fetch_worker(transactional_db, tmp_path, upstream):
    """A worker whose sources all point at the loopback server: HF pages and two arXiv feeds."""
    app.control.purge()
    env = subprocess_env(
        HF_BASE_URL=upstream.base_url,
        ARXIV_RSS_BASE_URL=upstream.base_url,
        PAPER_SOURCES="hf,arxiv-rss",
        ARXIV_CATEGORIES="cs.AI,cs.CL",
    )
    worker = WorkerProcess(tmp_path / "worker.log", env)
    worker.start()
    yield worker
    worker.stop()


def send_beat_entry(name: str) -> None:
    """Send the task exactly as beat would: the schedule entry's task name and kwargs."""
    entry = app.conf.beat_schedule[name]
    app.send_task(entry["task"], kwargs=entry.get("kwargs", {}))


def finished_runs(expected: int):
    runs = list(FetchRun.objects.exclude(status=FetchRun.Status.RUNNING))
    return runs if len(runs) >= expected else None


@pytest.mark.worker
def test_fetch_latest_fans_out_and_one_broken_source_does_not_stop_the_others(fetch_worker, upstream):
    today = datetime.now(UTC).date().isoformat()
    upstream.script(f"/papers/date/{today}", Reply(body=hf_page_html()))
    upstream.script("/rss/cs.AI", Reply(body=arxiv_rss_body()))
    upstream.script("/rss/cs.CL", Reply(body=b"<rss><channel><item><title>cut"))

    send_beat_entry("fetch-papers-hourly")

    runs = wait_until(
        lambda: finished_runs(3), timeout=60, message=f"3 fetch runs; log:\n{fetch_worker.log()}"
    )
    by_target = {(run.source, run.target): run for run in runs}
    assert set(by_target) == {("hf", today), ("arxiv-rss", f"{today} cs.AI"), ("arxiv-rss", f"{today} cs.CL")}
    assert by_target["hf", today].status == "succeeded"
    assert by_target["hf", today].new_count == 37
    assert by_target["arxiv-rss", f"{today} cs.AI"].fetched_count == 3
    broken = by_target["arxiv-rss", f"{today} cs.CL"]
    assert broken.status == "failed"
    assert broken.error.startswith(f"{upstream.base_url}/rss/cs.CL: not well-formed XML")
    assert Paper.objects.count() == 40
    # The fetches that added papers queued their embedding.
    wait_until(
        lambda: PaperEmbedding.objects.count() == 40,
        timeout=120,
        message=f"40 vectors; log:\n{fetch_worker.log()}",
    )
    embedded_at = dict(PaperEmbedding.objects.values_list("paper_id", "created_at"))

    # Beat fires again an hour later: the same pages change nothing.
    send_beat_entry("fetch-papers-hourly")
    runs = wait_until(lambda: finished_runs(6), timeout=60, message="6 fetch runs")
    latest_hf = max((run for run in runs if run.source == "hf"), key=lambda run: run.started_at)
    assert (latest_hf.new_count, latest_hf.updated_count, latest_hf.unchanged_count) == (0, 0, 37)
    assert Paper.objects.count() == 40
    assert len(upstream.requests_to(f"/papers/date/{today}")) == 2
    assert dict(PaperEmbedding.objects.values_list("paper_id", "created_at")) == embedded_at


@pytest.fixture
def beat(fetch_worker, tmp_path):
    """A real `celery beat` process with the worker's environment and a fresh schedule file."""
    log_path = tmp_path / "beat.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
             "--schedule", str(tmp_path / "celerybeat-schedule")],
            cwd=ROOT, env=fetch_worker.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    yield log_path
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.worker
def test_beat_fetches_once_at_start_up_instead_of_waiting_for_the_hour(fetch_worker, upstream, beat):
    today = datetime.now(UTC).date().isoformat()
    upstream.script(f"/papers/date/{today}", Reply(body=hf_page_html()))
    upstream.script("/rss/*", Reply(body=arxiv_rss_body()))

    runs = wait_until(
        lambda: finished_runs(3),
        timeout=90,
        message=f"the start-up fetch; beat log:\n{beat.read_text()}\nworker log:\n{fetch_worker.log()}",
    )

    assert {(run.source, run.target) for run in runs} == {
        ("hf", today), ("arxiv-rss", f"{today} cs.AI"), ("arxiv-rss", f"{today} cs.CL"),
    }  # fmt: skip
    assert all(run.status == "succeeded" for run in runs)
    assert Paper.objects.count() == 37 + 3
    assert "Fetching papers now, as at every start" in beat.read_text()


@pytest.mark.worker
def test_an_unreachable_source_logs_one_clear_line_and_is_retried_later(fetch_worker):
    """The client fails at once; the task says why in one line and leaves the retry to Celery (minutes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    env = {**fetch_worker.env, "HF_BASE_URL": f"http://127.0.0.1:{port}"}
    fetch_worker.stop()
    offline_worker = WorkerProcess(fetch_worker.log_path, env)
    offline_worker.start()
    try:
        app.send_task("papers.tasks.fetch_papers", args=["hf", "2026-05-08"])
        line = f"hf: cannot reach 127.0.0.1:{port} (connection refused); check the network or HF_BASE_URL"
        wait_until(
            lambda: line in offline_worker.log(),
            timeout=60,
            message=f"the line; log:\n{offline_worker.log()}",
        )
        wait_until(lambda: "retry: Retry in" in offline_worker.log(), timeout=30, message="Celery's retry")
    finally:
        offline_worker.stop()
    assert " ERROR" not in offline_worker.log()
    assert FetchRun.objects.get().error.endswith(f"cannot reach 127.0.0.1:{port} (connection refused)")


def test_fetch_jobs_plans_one_job_per_source_and_category():
    jobs = fetch_jobs(sources=["hf", "arxiv-rss", "hf-api"], categories=["cs.AI", "cs.CL"])
    assert jobs == [("hf", None), ("arxiv-rss", "cs.AI"), ("arxiv-rss", "cs.CL"), ("hf-api", None)]


def test_fetch_jobs_for_an_earlier_day_skips_the_undated_arxiv_feeds():
    jobs = fetch_jobs(sources=["hf", "arxiv-rss", "arxiv-list"], categories=["cs.AI"], dated_only=True)
    assert jobs == [("hf", None)]


def test_beat_schedule_runs_fetch_latest_for_today_and_yesterday():
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "papers.tasks.fetch_latest"]
    assert sorted(e["kwargs"]["days_back"] for e in entries) == [0, 1]
    assert fetch_latest.name == "papers.tasks.fetch_latest"
    assert fetch_papers.name == "papers.tasks.fetch_papers"
    assert fetch_papers.acks_late and fetch_papers.reject_on_worker_lost
    assert fetch_papers.autoretry_for == (TransientFetchError,) and fetch_papers.max_retries == 3
