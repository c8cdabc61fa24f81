"""The sweep: settle digests stuck in `sending`, cancel or expire planned ones, re-queue lost ones."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from newsletter.digests.claiming import digests_claim
from newsletter.digests.sweep import digests_sweep
from newsletter.models import DeliveryEvent, Digest, DigestItem
from tests.newsletter.digests.test_sending import (
    PLANNED,
    attempts,
    leave,
    planned_at,
    planned_digests,
    statuses,
)


def stuck(ids: list[int], *, minutes: int) -> None:
    Digest.objects.filter(id__in=ids).update(
        status="sending", claimed_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_sweep_marks_stuck_digests_with_a_sendgrid_event_as_sent(db):
    ids = planned_digests(2)
    stuck(ids, minutes=45)
    DeliveryEvent.objects.create(
        sg_event_id="evt-1",
        event="processed",
        email="reader0@example.com",
        timestamp=timezone.now(),
        digest_id=ids[0],
        raw={},
    )

    report = digests_sweep()

    assert report.confirmed_sent == 1
    assert statuses()[ids[0]] == "sent"
    assert statuses()[ids[1]] == "planned"
    assert report.requeued_ids == [ids[1]]
    assert "no SendGrid event" in Digest.objects.get(id=ids[1]).last_error


def test_sweep_leaves_recently_claimed_digests_alone(db):
    ids = planned_digests(1)
    stuck(ids, minutes=5)

    report = digests_sweep()

    assert (report.confirmed_sent, report.released, report.requeued_ids) == (0, 0, [])
    assert statuses() == {ids[0]: "sending"}


def test_sweep_gives_up_after_max_attempts_instead_of_risking_duplicates(db):
    ids = planned_digests(1)
    stuck(ids, minutes=45)
    Digest.objects.filter(id__in=ids).update(attempts=3)

    report = digests_sweep()

    assert report.given_up == 1
    digest = Digest.objects.get()
    assert digest.status == "failed"
    assert "no SendGrid event" in digest.last_error


def test_sweep_requeues_planned_digests_whose_task_was_lost(db):
    ids = planned_digests(2)
    Digest.objects.filter(id=ids[0]).update(updated_at=timezone.now() - timedelta(hours=1))
    Digest.objects.filter(id=ids[1]).update(updated_at=timezone.now() - timedelta(minutes=5))

    report = digests_sweep()

    assert report.requeued_ids == [ids[0]]


def test_sweep_requeues_a_waiting_digest_once_per_delay_not_at_every_sweep(db):
    ids = planned_digests(1)
    Digest.objects.filter(id__in=ids).update(updated_at=timezone.now() - timedelta(hours=1))
    first = timezone.now()

    assert digests_sweep(now=first).requeued_ids == ids
    # Ten minutes later the digest is still waiting behind a long queue: its copy is already queued.
    assert digests_sweep(now=first + timedelta(minutes=10)).requeued_ids == []
    assert digests_sweep(now=first + timedelta(minutes=31)).requeued_ids == ids


def test_the_sweep_expires_planned_digests_past_their_window_and_never_requeues_them(db):
    digest_id = planned_at(PLANNED)
    Digest.objects.update(updated_at=PLANNED)  # its task message was lost long ago

    with time_machine.travel(PLANNED + timedelta(hours=25), tick=False):
        report = digests_sweep()

    assert (report.expired, report.requeued_ids) == (1, [])
    assert statuses() == {digest_id: "expired"}
    assert not DigestItem.objects.filter(released=False).exists()


def test_the_sweep_requeues_a_lost_digest_still_inside_its_window(db):
    digest_id = planned_at(PLANNED)
    Digest.objects.update(updated_at=PLANNED)

    with time_machine.travel(PLANNED + timedelta(hours=23), tick=False):
        report = digests_sweep()

    assert (report.expired, report.requeued_ids) == (0, [digest_id])


def test_a_digest_stuck_in_sending_past_its_window_expires_instead_of_being_requeued(db):
    digest_id = planned_at(PLANNED)
    Digest.objects.update(status="sending", claimed_at=PLANNED, attempts=1)

    with time_machine.travel(PLANNED + timedelta(hours=25), tick=False):
        report = digests_sweep()

    assert (report.released, report.expired, report.requeued_ids) == (1, 1, [])
    assert statuses() == {digest_id: "expired"}


def test_the_sweep_cancels_planned_digests_of_subscribers_who_left(db):
    stays, leaves = planned_digests(2)
    leave(Digest.objects.get(id=leaves).subscriber, "complained")
    Digest.objects.update(updated_at=timezone.now() - timedelta(hours=1))

    report = digests_sweep()

    assert (report.cancelled, report.requeued_ids) == (1, [stays])
    assert statuses() == {stays: "planned", leaves: "cancelled"}
    assert (
        Digest.objects.get(id=leaves).last_error == "Cancelled before sending: the subscriber is complained."
    )


def test_each_stuck_claim_counts_so_the_third_one_gives_up(db):
    [digest_id] = planned_digests(1)
    start = timezone.now()
    for round_ in range(3):
        with time_machine.travel(start + round_ * timedelta(hours=1), tick=False):
            assert digests_claim(digest_ids=[digest_id]).claimed_ids == [digest_id]  # then the worker dies
        with time_machine.travel(start + round_ * timedelta(hours=1) + timedelta(minutes=40), tick=False):
            report = digests_sweep()
        if round_ < 2:
            assert (report.released, report.given_up, attempts()) == (1, 0, {digest_id: round_ + 1})
    assert (report.given_up, attempts()) == (1, {digest_id: 3})
    assert statuses() == {digest_id: "failed"}
    assert not DigestItem.objects.filter(released=False).exists()
