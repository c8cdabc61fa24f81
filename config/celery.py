"""The Celery app and the whole beat schedule, in one place.

Run exactly one beat process per deployment; add as many workers as the load needs.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
    "purge-unconfirmed-subscribers": {
        "task": "newsletter.tasks.purge_unconfirmed",
        "schedule": crontab(minute=17, hour=3),
    },
}
