"""The Celery app and the whole beat schedule, in one place.

Run exactly one beat process per deployment; add as many workers as the load needs.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
logger = logging.getLogger(__name__)

app = Celery("paperbox")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # New papers for today, every hour, one task per source (and arXiv category).
    "fetch-papers-hourly": {
        "task": "papers.tasks.fetch_latest",
        "schedule": crontab(minute=7),
        "kwargs": {"days_back": 0},
    },
    # Yesterday again, so upvotes that arrived late are picked up.
    "fetch-papers-previous-day": {
        "task": "papers.tasks.fetch_latest",
        "schedule": crontab(minute=37, hour="*/6"),
        "kwargs": {"days_back": 1},
    },
    "plan-digests": {
        "task": "newsletter.tasks.plan_digests",
        "schedule": crontab(minute="*/15"),
    },
    "sweep-stuck-digests": {
        "task": "newsletter.tasks.sweep_stuck_digests",
        "schedule": crontab(minute="*/10"),
    },
    "prune-history": {
        "task": "newsletter.tasks.prune_history",
        "schedule": crontab(minute=47, hour=3),
    },
    "purge-unconfirmed-subscribers": {
        "task": "newsletter.tasks.purge_unconfirmed",
        "schedule": crontab(minute=17, hour=3),
    },
}


@beat_init.connect
def fetch_papers_at_start(sender: Any = None, **kwargs: Any) -> None:
    """Fetch once when beat starts, so a fresh install shows today's papers, not just the demo day.

    The hourly entry would wait up to an hour; fetching is an upsert, so an extra run on every beat
    restart costs a few requests and changes nothing.
    """
    logger.info("Fetching papers now, as at every start; then hourly at 7 past the hour.")
    app.send_task("papers.tasks.fetch_latest", kwargs={"days_back": 0})
