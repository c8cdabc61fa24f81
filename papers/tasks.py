"""Celery tasks for papers: thin wrappers around papers.services.

The beat schedule (config/celery.py) runs `fetch_latest`, which fans out one `fetch_papers` task
per source, day and arXiv category, so one failing source never stops the others.
Both are idempotent (ingestion is an upsert), so a redelivered message is harmless.
A fetch that added or changed papers queues `embed_new_papers`, which beat also runs hourly.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from papers.embeddings.store import papers_embed_stale
from papers.services import fetch_jobs, fetch_runs_close_abandoned, papers_fetch
from papers.sources.errors import HostUnreachable, SourceError, TransientFetchError
from papers.sources.registry import SOURCES

logger = logging.getLogger(__name__)


@shared_task(name="papers.tasks.fetch_latest", acks_late=True, reject_on_worker_lost=True)
def fetch_latest(days_back: int = 0) -> int:
    """Queue one fetch per configured source (and arXiv category) for today minus `days_back`."""
    # Well past the hard time limit: a run still `running` then has lost its worker.
    fetch_runs_close_abandoned(older_than=dt.timedelta(seconds=3 * settings.CELERY_TASK_TIME_LIMIT))
    day = timezone.now().date() - dt.timedelta(days=days_back)
    jobs = fetch_jobs(
        sources=settings.PAPER_SOURCES, categories=settings.ARXIV_CATEGORIES, dated_only=days_back > 0
    )
    for source, category in jobs:
        fetch_papers.delay(source, day.isoformat(), category)
    return len(jobs)


@shared_task(
    name="papers.tasks.fetch_papers",
    acks_late=True,
    reject_on_worker_lost=True,
    # The client already retried within seconds; these retries wait minutes for an outage to pass.
    autoretry_for=(TransientFetchError,),
    max_retries=3,
    retry_backoff=60,
    retry_backoff_max=900,
    retry_jitter=True,
)
def fetch_papers(source: str, date: str, category: str | None = None) -> int | None:
    """Fetch, parse and ingest one page; returns the FetchRun id, None when it failed for good."""
    try:
        run = papers_fetch(source=source, day=dt.date.fromisoformat(date), category=category)
    except HostUnreachable as error:
        # Offline, or a wrong base URL: say which in one line; the retry below waits minutes.
        setting = SOURCES[source].base_setting
        logger.warning("%s: %s; check the network or %s", source, error.message, setting)
        raise
    except TransientFetchError:
        raise
    except SourceError as error:
        # A 404 or a page we cannot read: retrying will not help. The FetchRun row records it.
        logger.error("fetch_papers %s %s %s failed: %s", source, date, category or "", error)
        return None
    if run.new_count or run.updated_count:
        embed_new_papers.delay()
    return run.pk


# Papers per task: a few minutes at most on two busy cores; a bigger backlog (a first install, a
# new model) continues in the next task, so no run nears the time limit.
EMBED_PER_TASK = 2000
EMBED_LOCK = "papers:embedding"  # one run at a time: two would embed the same papers twice
EMBED_AGAIN = "papers:embedding:again"  # set by a run that found the lock taken


@shared_task(name="papers.tasks.embed_new_papers", acks_late=True, reject_on_worker_lost=True)
def embed_new_papers() -> int:
    """Embed the papers that are new or whose title or abstract changed; returns how many."""
    if not cache.add(EMBED_LOCK, True, timeout=settings.CELERY_TASK_TIME_LIMIT):
        # The running task may have passed these papers already: it runs once more when done.
        cache.set(EMBED_AGAIN, True, timeout=settings.CELERY_TASK_TIME_LIMIT)
        return 0
    try:
        progress = papers_embed_stale(limit=EMBED_PER_TASK)
    finally:
        cache.delete(EMBED_LOCK)
    if progress.more or cache.delete(EMBED_AGAIN):
        embed_new_papers.delay()
    logger.info("Embedded %d papers (%d unchanged)", progress.embedded, progress.unchanged)
    return progress.embedded
