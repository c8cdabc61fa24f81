from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from config.celery import app
from newsletter import tasks
from newsletter.models import Digest, PlanningRun
from tests.newsletter.digests.test_planning import make_papers, make_subscriber
from tests.newsletter.digests.test_sending import fake  # noqa: F401 - the fake SendGrid fixture


def test_beat_schedule_names_only_registered_digest_tasks():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    for name in ("newsletter.tasks.plan_digests", "newsletter.tasks.sweep_stuck_digests"):
        assert name in scheduled
        assert name in app.tasks
    assert "newsletter.tasks.send_digests" in app.tasks


def test_digest_tasks_ack_late_so_a_dead_workers_message_is_delivered_again():
    assert (
        tasks.plan_digests.acks_late and tasks.send_digests.acks_late and tasks.sweep_stuck_digests.acks_late
    )


def test_plan_task_skips_quietly_while_another_planning_run_is_going(db):
    PlanningRun.objects.create(key="earlier", moment=timezone.now(), started_at=timezone.now())
    assert "still going" in tasks.plan_digests()["busy"]
    assert PlanningRun.objects.count() == 1


def test_plan_then_send_tasks_deliver_and_report_counts(db, fake):  # noqa: F811
    make_papers(first_seen_at=timezone.now() - timedelta(hours=1))
    make_subscriber("reader@example.com", time_zone="UTC", send_hour=0)

    app.control.purge()
    result = tasks.plan_digests()  # the coordinator, run here: its shard task goes to the broker
    assert result["shards"] == 1
    [shard_id] = PlanningRun.objects.get(pk=result["run"]).shard_set.values_list("id", flat=True)
    assert tasks.plan_digest_shard(shard_id) == {"due": 1, "planned": 1, "skipped": 0}
    assert tasks.plan_digest_shard(shard_id) == {"due": 0, "planned": 0, "skipped": 0}  # redelivered
    app.control.purge()
    digest = Digest.objects.get()

    nothing = {"cancelled": 0, "expired": 0, "failed": 0}
    assert tasks.send_digests([digest.id]) == {"claimed": 1, "sent": 1, **nothing}
    assert tasks.send_digests([str(digest.id)]) == {"claimed": 0, "sent": 0, **nothing}
    assert len(fake.accepted) == 1


def test_sweep_task_reports_what_it_did(db):
    make_papers(first_seen_at=timezone.now() - timedelta(hours=1))
    subscriber = make_subscriber("reader@example.com", time_zone="UTC", send_hour=0)
    Digest.objects.create(
        subscriber=subscriber, edition="2026-11-20", status="sending", attempts=3,
        claimed_at=timezone.now() - timedelta(hours=2),
    )  # fmt: skip

    assert tasks.sweep_stuck_digests() == {
        "confirmed_sent": 0,
        "given_up": 1,
        "released": 0,
        "cancelled": 0,
        "expired": 0,
        "requeued": 0,
    }
