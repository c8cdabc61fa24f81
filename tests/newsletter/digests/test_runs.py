"""Planning runs through real Celery workers on Redis: a shard killed mid-transaction and delivered
again plans each digest once, and two coordinators racing for one beat slot plan once."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from newsletter.digests.runs import PlannerBusy, planning_run_start
from newsletter.models import Digest, DigestItem, PlanningRun, PlanningShard
from tests.conftest import WorkerProcess, subprocess_env, wait_until
from tests.newsletter.digests.test_planning import make_papers, make_subscriber

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]


def due_subscribers(count: int) -> None:
    make_papers(first_seen_at=timezone.now() - timedelta(hours=1), limit=60)
    for number in range(count):
        make_subscriber(f"reader{number}@example.com", time_zone="UTC", send_hour=0)


def shard_state(shard_id: int) -> str:
    return PlanningShard.objects.values_list("status", flat=True).get(pk=shard_id)


@pytest.mark.skipif(
    "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="holds a row lock from another connection and reads pg_stat_activity: PostgreSQL's",
)
def test_a_shard_killed_before_its_commit_leaves_nothing_and_its_redelivery_plans_each_digest_once(
    celery_worker_process: WorkerProcess,
):
    from newsletter.tasks import plan_digest_shard

    due_subscribers(6)
    run = planning_run_start()
    [shard_id] = run.shard_set.values_list("id", flat=True)

    # Hold the run's row: the shard writes its digests and items, then waits on its last statement
    # (adding its counts to the run), inside its transaction. That is when its worker dies.
    blocker = psycopg.connect(**_libpq_params())  # a session of its own, as another process would be
    blocker.execute("SELECT id FROM newsletter_planningrun WHERE id = %s FOR UPDATE", [run.pk])
    plan_digest_shard.delay(shard_id)
    wait_until(lambda: "plan_digest_shard" in celery_worker_process.log(), message="the shard task to start")
    wait_until(_shard_waits_on_a_lock, message="the shard to wait inside its transaction")
    celery_worker_process.kill()
    blocker.rollback()
    blocker.close()

    assert Digest.objects.count() == DigestItem.objects.count() == 0  # its transaction never committed
    assert shard_state(shard_id) == "running"

    # The broker gives the unacknowledged message back (here: as it would after the visibility
    # timeout, by sending the same message again), to a new worker, twice over.
    celery_worker_process.start()
    plan_digest_shard.delay(shard_id)
    plan_digest_shard.delay(shard_id)
    wait_until(lambda: shard_state(shard_id) == "done", message="the shard planned")
    wait_until(lambda: celery_worker_process.log().count("succeeded") >= 2, message="both messages handled")

    assert Digest.objects.count() == 6
    assert Digest.objects.values("subscriber_id", "edition").distinct().count() == 6
    run.refresh_from_db()
    assert (run.status, run.shards_done, run.planned) == ("done", 1, 6)


def _libpq_params() -> dict:
    database = connection.settings_dict
    return {
        "dbname": database["NAME"],
        "user": database["USER"] or "postgres",
        "host": database["HOST"] or "127.0.0.1",
        "port": database["PORT"] or 5432,
        "password": database["PASSWORD"] or None,
    }


def _shard_waits_on_a_lock() -> bool:
    """A session of the test database other than ours is waiting for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def two_process_worker(transactional_db, tmp_path):
    from config.celery import app

    app.control.purge()
    worker = WorkerProcess(tmp_path / "worker.log", subprocess_env(), concurrency=2)
    worker.start()
    yield worker
    worker.stop()


def test_two_coordinators_racing_for_one_beat_slot_plan_once(two_process_worker: WorkerProcess):
    from newsletter.tasks import plan_digests

    due_subscribers(8)
    plan_digests.delay()
    plan_digests.delay()  # beat firing twice, or two beats by mistake: both reach a worker at once

    wait_until(lambda: two_process_worker.log().count("plan_digests") >= 4, message="both coordinators")
    wait_until(
        lambda: not PlanningRun.objects.filter(status="running").exists() and Digest.objects.count() == 8,
        message="the run planned",
    )
    assert PlanningRun.objects.count() == 1
    assert Digest.objects.values("subscriber_id").distinct().count() == 8
    assert "exists already" in two_process_worker.log() or "still going" in two_process_worker.log()


@pytest.mark.django_db(transaction=True)
def test_coordinators_in_two_threads_create_one_run_for_the_slot():
    due_subscribers(3)
    now = timezone.now()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def coordinate() -> None:
        barrier.wait()
        try:
            with transaction.atomic():
                planning_run_start(now=now)
            outcomes.append("run")
        except PlannerBusy:
            outcomes.append("busy")
        finally:
            connection.close()

    threads = [threading.Thread(target=coordinate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["busy", "run"]
    assert PlanningRun.objects.count() == 1
