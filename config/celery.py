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
    # Fetches queue it when they change papers; this sweep catches anything they missed.
    "embed-new-papers": {
        "task": "papers.tasks.embed_new_papers",
        "schedule": crontab(minute=27),
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
def catch_up_at_start(sender: Any = None, **kwargs: Any) -> None:
    """Fetch and embed once when beat starts, so a fresh install shows today's papers, not just the
    demo day, and an upgraded one has every paper's vector.

    The hourly entries would wait up to an hour; fetching is an upsert and embedding skips papers
    embedded already, so an extra run on every beat restart costs a few requests and changes nothing.
    """
    logger.info("Fetching papers now, as at every start; then hourly at 7 past the hour.")
    app.send_task("papers.tasks.fetch_latest", kwargs={"days_back": 0})
    # After an upgrade the existing papers have no vectors yet: embed them now, not in an hour.
    app.send_task("papers.tasks.embed_new_papers")
