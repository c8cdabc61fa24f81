"""Digest delivery end to end: PostgreSQL, Redis, a real Celery worker, the SendGrid SDK over HTTP.

"Exactly once" here means: every planned digest reaches SendGrid (the fake) once and only once,
including across a worker killed with SIGKILL mid-batch, given that SendGrid's `processed` event
for each accepted message reaches our webhook before the sweep's safe delay (RESEND_AFTER) passes.
The digests in flight when the worker died are at-most-once on their own: the sweep settles them
from the events (accepted -> `sent`, no event after the delay -> sent again).
"""

from __future__ import annotations

import collections
import json
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from newsletter.digests.runs import digests_plan
from newsletter.digests.sweep import RESEND_AFTER
from newsletter.matching import canonical_interest
from newsletter.models import Digest, Interest, Subscriber
from newsletter.subscriptions import tokens
from tests.conftest import FIXTURES, WorkerProcess, subprocess_env, wait_until
from tests.fakes.sendgrid import FakeSendGrid, Hang, WebhookSigner

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]

CAPTURE = FIXTURES / "hf" / "daily_papers_2026-05-08.json"
SIGNER = WebhookSigner()
INTERESTS = "diffusion\nreinforcement learning"


@pytest.fixture
def fake():
    with FakeSendGrid(api_key="SG.e2e-key") as server:
        yield server
    assert server.invalid == []


@pytest.fixture
def worker(transactional_db, tmp_path, fake, settings):
    from config.celery import app

    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = SIGNER.public_key
    app.control.purge()
    process = WorkerProcess(
        tmp_path / "worker.log",
        subprocess_env(SENDGRID_API_KEY=fake.api_key, SENDGRID_API_HOST=fake.url, SENDGRID_TIMEOUT="30"),
    )
    process.start()
    yield process
    process.stop()


def sign_up_and_confirm(client, fake: FakeSendGrid, email: str) -> Subscriber:
    """Through the pages; the worker sends the confirmation and the welcome, then they are forgotten."""
    data = {
        "email": email,
        "interests": INTERESTS,
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "0",
        "time_zone": "UTC",
    }
    assert client.post("/", data).status_code == 302
    wait_until(lambda: len(fake.accepted) == 1, message="the confirmation email")
    confirm = re.search(r"http://testserver(/confirm/\S+)", fake.accepted[0]["content"][0]["value"]).group(1)
    assert client.post(confirm).status_code == 302
    subscriber = Subscriber.objects.get(email=email)
    assert subscriber.status == "active"
    wait_until(lambda: len(fake.accepted) == 2, message="the welcome email")
    fake.accepted.clear()  # what follows counts digests
    return subscriber


def active_subscribers(count: int) -> list[Subscriber]:
    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader{n}@example.com",
            status="active",
            send_hour=0,
            time_zone="UTC",
            created_at=now,
            confirmed_at=now,
        )
        for n in range(count)
    )
    Interest.objects.bulk_create(
        Interest(subscriber=s, text=text, canonical=canonical_interest(text), position=p)
        for s in subscribers
        for p, text in enumerate(INTERESTS.split("\n"))
    )
    return subscribers


def tasks_done(worker: WorkerProcess, name: str) -> int:
    return len(re.findall(rf"Task newsletter\.tasks\.{name}\[[^\]]+\] succeeded", worker.log()))


def run_task(worker: WorkerProcess, task, *args) -> None:
    before = tasks_done(worker, task.name.rsplit(".", 1)[1])
    task.delay(*args)
    wait_until(
        lambda: tasks_done(worker, task.name.rsplit(".", 1)[1]) > before, message=f"{task.name} to finish"
    )


def post_processed_events(client, bodies: list[dict]) -> None:
    """What SendGrid does seconds after accepting a message: POST a signed `processed` event."""
    events = [
        {
            "email": body["personalizations"][0]["to"][0]["email"],
            "timestamp": int(time.time()),
            "event": "processed",
            "sg_event_id": f"processed-{body['custom_args']['digest_id']}",
            "sg_message_id": f"msg-{body['custom_args']['digest_id']}",
            **body["custom_args"],
        }
        for body in bodies
    ]
    raw = json.dumps(events).encode()
    response = client.post(
        "/webhooks/sendgrid/", data=raw, content_type="application/json", headers=SIGNER.headers(raw)
    )
    assert response.status_code == 200, response.content


def recipients(fake: FakeSendGrid) -> collections.Counter:
    return collections.Counter(body["personalizations"][0]["to"][0]["email"] for body in fake.accepted)


def test_a_confirmed_subscriber_gets_their_digest_once_through_the_worker(client, worker, fake):
    from newsletter.tasks import plan_digests, send_digests

    ada = sign_up_and_confirm(client, fake, "ada@example.org")
    call_command("fetch_papers", "--source", "hf-api", "--file", str(CAPTURE))

    run_task(worker, plan_digests)
    wait_until(lambda: len(fake.accepted) == 1, message="the digest to reach SendGrid")

    [body] = fake.accepted
    digest = Digest.objects.get(subscriber=ada)
    assert body["personalizations"][0]["to"] == [{"email": "ada@example.org"}]
    assert body["custom_args"]["digest_id"] == str(digest.id)
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = body["content"][1]["value"]
    for item in digest.items.select_related("paper"):
        assert f'href="{item.paper.hf_url}"' in html
        assert f'href="{item.paper.arxiv_url}"' in html
        assert f'href="{item.paper.pdf_url}"' in html
    assert digest.items.count() == digest.paper_count > 0
    for link in ("/preferences/", "/unsubscribe/", "/digests/"):
        assert f'href="http://testserver{link}' in html
    wait_until(lambda: Digest.objects.get(id=digest.id).status == "sent", message="the digest marked sent")

    # The planner and the task messages again (beat firing twice, a redelivered message): nothing new.
    run_task(worker, plan_digests)
    run_task(worker, send_digests, [digest.id])
    assert len(fake.accepted) == 1
    assert Digest.objects.count() == 1


def test_a_worker_killed_mid_batch_still_delivers_every_digest_exactly_once(client, worker, fake):
    from newsletter.tasks import plan_digests, sweep_stuck_digests

    call_command("fetch_papers", "--source", "hf-api", "--file", str(CAPTURE))
    subscribers = active_subscribers(12)
    fake.script(*[Hang(60)] * 4)  # four requests get no answer: those digests are in flight

    plan_digests.delay()
    wait_until(lambda: len(fake.accepted) == 8, message="8 of 12 digests accepted")
    worker.kill()

    assert set(Digest.objects.values_list("status", flat=True)) == {"sending"}  # none recorded yet
    # SendGrid reports what it accepted; the 4 hung requests never reached it.
    post_processed_events(client, fake.accepted)

    worker.start()
    run_task(worker, sweep_stuck_digests)
    assert len(fake.accepted) == 8, "the sweep re-sent before the safe delay"
    assert set(Digest.objects.values_list("status", flat=True)) == {"sending"}

    # The safe delay passes.
    Digest.objects.update(claimed_at=timezone.now() - RESEND_AFTER - timedelta(minutes=1))
    run_task(worker, sweep_stuck_digests)
    wait_until(lambda: len(fake.accepted) == 12, message="the 4 in-flight digests sent again")
    wait_until(
        lambda: set(Digest.objects.values_list("status", flat=True)) == {"sent"}, message="every digest sent"
    )

    assert recipients(fake) == {subscriber.email: 1 for subscriber in subscribers}
    run_task(worker, sweep_stuck_digests)
    assert len(fake.accepted) == 12


def post_signed_events(client, events: list[dict]) -> None:
    raw = json.dumps(events).encode()
    response = client.post(
        "/webhooks/sendgrid/", data=raw, content_type="application/json", headers=SIGNER.headers(raw)
    )
    assert response.status_code == 200, response.content


def sendgrid_event(kind: str, email: str, **extra) -> dict:
    return {
        "email": email,
        "timestamp": int(time.time()),
        "event": kind,
        "sg_event_id": f"{kind}-{email}",
        **extra,
    }


def test_subscribers_who_leave_after_planning_get_nothing_through_the_worker(client, worker, fake):
    """Unsubscribed, paused, bounced and complained between planning and sending: only the one who stayed
    gets a digest, and the others' digests end `cancelled` with the reason."""
    from newsletter.tasks import send_digests, sweep_stuck_digests

    call_command("fetch_papers", "--source", "hf-api", "--file", str(CAPTURE))
    stays, unsubscribes, pauses, bounces, complains = active_subscribers(5)
    planned = digests_plan().planned_ids
    assert len(planned) == 5

    # Each leaves the way a person (or their mailbox provider) does, through our real endpoints.
    unsubscribe = urlsplit(tokens.unsubscribe_url(unsubscribes)).path
    assert client.post(unsubscribe, {"List-Unsubscribe": "One-Click"}).status_code == 200
    pause = urlsplit(tokens.preferences_url(pauses)).path + "pause/"
    assert client.post(pause).status_code == 302
    post_signed_events(
        client,
        [
            sendgrid_event("bounce", bounces.email, type="bounce", reason="550 5.1.1 no such user"),
            sendgrid_event("spamreport", complains.email),
        ],
    )

    run_task(worker, send_digests, planned)

    assert recipients(fake) == {stays.email: 1}
    outcome = {d.subscriber_id: (d.status, d.last_error) for d in Digest.objects.all()}
    assert outcome == {
        stays.id: ("sent", ""),
        unsubscribes.id: ("cancelled", "Cancelled before sending: the subscriber is unsubscribed."),
        pauses.id: ("cancelled", "Cancelled before sending: the subscriber is paused."),
        bounces.id: (
            "cancelled",
            "Cancelled before sending: the address is on the suppression list (bounced).",
        ),
        complains.id: (
            "cancelled",
            "Cancelled before sending: the address is on the suppression list (complained).",
        ),
    }

    # The sweep and a redelivered message change nothing: a cancelled digest is final.
    run_task(worker, sweep_stuck_digests)
    run_task(worker, send_digests, planned)
    assert len(fake.accepted) == 1
