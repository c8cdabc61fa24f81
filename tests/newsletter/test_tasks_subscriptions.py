from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from newsletter.models import Subscriber
from newsletter.tasks import (
    EMAIL_RETRIES,
    EMAIL_RETRY_FIRST_WAIT,
    EMAIL_RETRY_LONGEST_WAIT,
    email_retry_wait,
    purge_unconfirmed,
    send_link_to_address,
    send_subscription_email,
    signup_subscriber,
)
from tests.conftest import WorkerProcess, subprocess_env, wait_until
from tests.fakes.sendgrid import FakeSendGrid, Reply


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


# --- Subscription emails, through a real worker --------------------------------------------------

SIGNUP = {
    "email": "ada@example.org",
    "interests": "sparse autoencoder",
    "frequency": "daily",
    "weekday": "0",
    "send_hour": "7",
    "time_zone": "UTC",
}


@pytest.fixture
def sendgrid():
    with FakeSendGrid(api_key="SG.subscription-tasks") as server:
        yield server
    assert server.invalid == []


@pytest.fixture
def mail_worker(transactional_db, tmp_path, sendgrid):
    """A real worker sending through the SendGrid SDK to the fake; the test process sends nothing."""
    app.control.purge()
    worker = WorkerProcess(
        tmp_path / "worker.log",
        subprocess_env(
            SENDGRID_API_KEY=sendgrid.api_key, SENDGRID_API_HOST=sendgrid.url, SENDGRID_TIMEOUT="10"
        ),
    )
    worker.start()
    yield worker
    worker.stop()


def recipients_and_subjects(sendgrid: FakeSendGrid) -> list[tuple[str, str]]:
    return [(body["personalizations"][0]["to"][0]["email"], body["subject"]) for body in sendgrid.accepted]


def answer(response) -> tuple:
    return response.status_code, response.get("Location"), response.content


def test_subscription_tasks_are_registered_under_their_names_and_ack_late():
    for task, name in (
        (send_subscription_email, "newsletter.tasks.send_subscription_email"),
        (signup_subscriber, "newsletter.tasks.signup_subscriber"),
        (send_link_to_address, "newsletter.tasks.send_link_to_address"),
    ):
        assert task.name == name and name in app.tasks and task.acks_late


@pytest.mark.worker
@pytest.mark.timeout(180)
def test_signup_emails_are_sent_by_the_worker_and_the_answers_do_not_tell_known_from_unknown(
    client, mail_worker, sendgrid
):
    now = timezone.now()
    Subscriber.objects.create(email="known@example.org", status="active", created_at=now, confirmed_at=now)

    signups = [
        answer(client.post("/", {**SIGNUP, "email": email}))
        for email in ("known@example.org", "new@example.org")
    ]
    links = [
        answer(client.post("/link/", {"email": email}))
        for email in ("known@example.org", "nobody@example.org")
    ]

    assert signups[0] == signups[1] == (302, "/check-your-inbox/", b"")
    assert links[0] == links[1] == (302, "/check-your-inbox/", b"")
    wait_until(lambda: len(sendgrid.accepted) == 3, timeout=60, message="three emails through the worker")
    assert sorted(recipients_and_subjects(sendgrid)) == [
        ("known@example.org", "Your Paperbox subscription"),
        ("known@example.org", "Your Paperbox subscription"),
        ("new@example.org", "Confirm your Paperbox subscription"),
    ]
    assert "send_subscription_email" in mail_worker.log()


@pytest.mark.worker
@pytest.mark.timeout(180)
def test_a_failing_provider_is_retried_with_backoff_and_the_email_arrives(client, mail_worker, sendgrid):
    sendgrid.script(Reply(503), Reply(500))

    response = client.post("/", SIGNUP)

    assert response.status_code == 302  # answered at once: the provider is not waited for
    wait_until(lambda: len(sendgrid.accepted) == 1, timeout=90, message="the confirmation after two retries")
    assert sendgrid.requests == 3
    assert recipients_and_subjects(sendgrid) == [("ada@example.org", "Confirm your Paperbox subscription")]
    log = mail_worker.log()
    assert log.count("Retrying in") == 2 and "(retry 1)" in log and "(retry 2)" in log


def test_retry_waits_grow_and_stay_below_the_broker_visibility_timeout():
    for retries in range(EMAIL_RETRIES):
        wait = email_retry_wait(retries)
        longest = min(EMAIL_RETRY_LONGEST_WAIT, EMAIL_RETRY_FIRST_WAIT * 2**retries)
        assert longest / 2 <= wait <= longest
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > EMAIL_RETRY_LONGEST_WAIT
