from __future__ import annotations

import datetime as dt

import pytest

from config.celery import app
from newsletter.models import Subscriber
from newsletter.tasks import purge_unconfirmed
from tests.conftest import wait_until


def test_purge_task_name_matches_the_beat_schedule():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert purge_unconfirmed.name == "newsletter.tasks.purge_unconfirmed"
    assert purge_unconfirmed.name in scheduled


@pytest.mark.django_db
def test_purge_task_deletes_old_pending_signups():
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    Subscriber.objects.create(email="old@example.org", created_at=old)
    Subscriber.objects.create(email="new@example.org")
    assert purge_unconfirmed() == 1
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["new@example.org"]


@pytest.mark.worker
def test_purge_task_runs_on_a_real_worker(celery_worker_process):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    Subscriber.objects.create(email="old@example.org", created_at=old)
    purge_unconfirmed.delay()
    wait_until(
        lambda: not Subscriber.objects.filter(email="old@example.org").exists(),
        timeout=60,
        message="the worker to purge the old signup",
    )
