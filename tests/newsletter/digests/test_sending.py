from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from newsletter.digests.sending import (
    DigestSendingConfigurationError,
    RetryPolicy,
    digests_claim,
    digests_send,
)
from newsletter.digests.sweep import digests_sweep
from newsletter.models import DeliveryEvent, Digest
from tests.fakes.sendgrid import FakeSendGrid, Hang, Reply
from tests.newsletter.digests.test_planning import NOW, make_papers, make_subscriber, plan

FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def fake(settings):
    with FakeSendGrid(api_key="SG.digest-tests") as server:
        settings.EMAIL_BACKEND = "newsletter.delivery.sendgrid.SendGridBackend"
        settings.SENDGRID_API_KEY = server.api_key
        settings.SENDGRID_API_HOST = server.url
        settings.SENDGRID_TIMEOUT = 1
        yield server
    assert server.invalid == []  # every request matched SendGrid's OpenAPI schema


def planned_digests(count: int = 2) -> list[int]:
    papers = make_papers(first_seen_at=NOW - timedelta(hours=5), limit=150)
    for paper in papers:
        paper.github_repo = f"https://github.com/example/{paper.arxiv_id}"
    type(papers[0]).objects.bulk_update(papers, ["github_repo"])
    for number in range(count):
        make_subscriber(f"reader{number}@example.com", interests=["diffusion", "speech"], papers_per_digest=4)
    return plan().planned_ids


def statuses() -> dict[int, str]:
    return dict(Digest.objects.values_list("id", "status"))


def test_sends_each_digest_with_its_papers_links_headers_and_custom_args(db, fake):
    ids = planned_digests(2)

    report = digests_send(digest_ids=ids, policy=FAST)

    assert (report.claimed, report.sent) == (2, 2)
    assert len(fake.accepted) == 2
    by_digest = {int(body["custom_args"]["digest_id"]): body for body in fake.accepted}
    for digest in Digest.objects.filter(id__in=ids).select_related("subscriber"):
        body = by_digest[digest.id]
        assert body["personalizations"][0]["to"] == [{"email": digest.subscriber.email}]
        text, html = (part["value"] for part in body["content"])
        assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
        for item in digest.items.select_related("paper"):
            for url in (item.paper.hf_url, item.paper.arxiv_url, item.paper.pdf_url, item.paper.github_repo):
                assert f'href="{url}"' in html
                assert url in text
        for path in ("/preferences/", "/unsubscribe/", "/digests/"):
            assert f'href="http://testserver{path}' in html
        assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert body["headers"]["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
        assert body["categories"] == ["digest", "digest-daily"]
        assert body["custom_args"]["subscriber_id"] == str(digest.subscriber_id)
        assert digest.status == "sent"
        assert digest.sent_at is not None
        assert digest.attempts == 1
        assert digest.sendgrid_message_id in fake.accepted_message_ids


def test_a_repeated_or_duplicated_task_sends_nothing_twice(db, fake):
    ids = planned_digests(2)
    digests_send(digest_ids=ids, policy=FAST)

    again = digests_send(digest_ids=ids, policy=FAST)

    assert (again.claimed, again.sent) == (0, 0)
    assert len(fake.accepted) == 2


def test_concurrent_tasks_with_the_same_ids_send_each_digest_once(transactional_db, fake):
    ids = planned_digests(6)
    reports = []

    def run() -> None:
        try:
            reports.append(digests_send(digest_ids=ids, policy=FAST))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(report.claimed for report in reports) == 6
    assert sorted(int(body["custom_args"]["digest_id"]) for body in fake.accepted) == sorted(ids)


def test_claim_moves_only_planned_digests_and_returns_exactly_those(db):
    ids = planned_digests(3)
    Digest.objects.filter(id=ids[0]).update(status="sent")

    assert digests_claim(digest_ids=ids) == sorted(ids[1:])
    assert digests_claim(digest_ids=ids) == []
    assert sorted(statuses().values()) == ["sending", "sending", "sent"]


def test_sending_a_chunk_does_not_query_per_digest(db, fake, django_assert_max_num_queries):
    ids = planned_digests(20)
    # claim, digests+subscribers, items, papers, one UPDATE for the sent ones
    with django_assert_max_num_queries(5):
        digests_send(digest_ids=ids, policy=FAST)
    assert len(fake.accepted) == 20


def test_rate_limit_waits_until_the_reset_time_then_sends(db, fake):
    ids = planned_digests(1)
    reset_at = int(time.time()) + 2
    fake.script(
        Reply(
            429,
            headers={
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset_at),
            },
        )
    )

    started = time.time()
    report = digests_send(digest_ids=ids, policy=FAST)

    assert report.sent == 1
    assert time.time() >= reset_at - 0.05  # it waited for the reset
    assert time.time() - started < 10
    assert fake.requests == 2
    assert statuses() == {ids[0]: "sent"}


def test_server_errors_are_retried_with_backoff_then_succeed(db, fake):
    ids = planned_digests(1)
    fake.script(Reply(500), Reply(503))

    report = digests_send(digest_ids=ids, policy=FAST)

    assert report.sent == 1
    assert fake.requests == 3
    assert len(fake.accepted) == 1


def test_server_errors_are_retried_a_bounded_number_of_times_then_fail(db, fake):
    ids = planned_digests(1)
    fake.default = Reply(500)

    report = digests_send(digest_ids=ids, policy=FAST)

    assert report.failed == 1
    assert fake.requests == FAST.max_retries + 1
    digest = Digest.objects.get()
    assert digest.status == "failed"
    assert "DeliveryServerError after 3 attempts" in digest.last_error
    assert "internal server error" in digest.last_error


def test_a_timeout_is_retried(db, fake):
    ids = planned_digests(1)
    fake.script(Hang(3))

    report = digests_send(digest_ids=ids, policy=FAST)

    assert report.sent == 1
    assert fake.requests == 2


@pytest.mark.parametrize(
    ("status", "message"),
    [(400, "The to email does not contain a valid address."), (413, "content too large")],
)
def test_a_rejected_message_fails_that_digest_with_sendgrids_text(db, fake, status, message):
    ids = planned_digests(2)
    fake.script(Reply(status, {"errors": [{"message": message, "field": "personalizations.0.to.0.email"}]}))

    report = digests_send(digest_ids=ids, policy=RetryPolicy(max_retries=0), threads=1)

    assert (report.sent, report.failed) == (1, 1)
    failed = Digest.objects.get(status="failed")
    assert message in failed.last_error
    assert f"answered {status}" in failed.last_error
    assert fake.requests == 2  # never retried


def test_an_authentication_error_stops_the_run_and_leaves_everything_planned(db, fake, settings):
    ids = planned_digests(5)
    settings.SENDGRID_API_KEY = "SG.revoked"

    with pytest.raises(DigestSendingConfigurationError, match="SENDGRID_API_KEY"):
        digests_send(digest_ids=ids, policy=FAST, threads=2)

    assert set(statuses().values()) == {"planned"}
    assert not Digest.objects.filter(claimed_at__isnull=False).exists()
    assert fake.requests <= 2  # one per thread at most: no burning through the list
    assert fake.accepted == []


def test_after_an_authentication_error_other_send_tasks_stop_before_claiming(db, fake, settings):
    ids = planned_digests(6)
    first_chunk, other_chunk = ids[:3], ids[3:]
    settings.SENDGRID_API_KEY = "SG.revoked"
    with pytest.raises(DigestSendingConfigurationError):
        digests_send(digest_ids=first_chunk, policy=FAST, threads=1)
    requests_so_far = fake.requests

    with pytest.raises(DigestSendingConfigurationError, match="SENDGRID_API_KEY"):
        digests_send(digest_ids=other_chunk, policy=FAST, threads=1)

    assert fake.requests == requests_so_far  # the other chunk never called SendGrid
    assert list(Digest.objects.filter(id__in=other_chunk).values_list("attempts", flat=True)) == [0, 0, 0]
    assert set(statuses().values()) == {"planned"}
    assert not Digest.objects.filter(claimed_at__isnull=False).exists()


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
