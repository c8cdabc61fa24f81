from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from newsletter.delivery.suppressions import email_hash
from newsletter.digests.runs import digests_plan
from newsletter.digests.sending import (
    DigestSendingConfigurationError,
    RetryPolicy,
    digests_send,
)
from newsletter.models import Digest, Subscriber, Suppression
from papers.models import Paper
from tests.fakes.sendgrid import FakeSendGrid, Hang, Reply
from tests.newsletter.digests.test_planning import make_papers, make_subscriber

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
    """Digests planned just now (the send window counts from then), whatever the hour."""
    now = timezone.now()
    papers = make_papers(first_seen_at=now - timedelta(hours=5), limit=150)
    for paper in papers:
        paper.github_repo = f"https://github.com/example/{paper.arxiv_id}"
    type(papers[0]).objects.bulk_update(papers, ["github_repo"])
    for number in range(count):
        make_subscriber(f"reader{number}@example.com", interests=["diffusion", "speech"], papers_per_digest=4)
    return digests_plan(now=now, force=True).planned_ids


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


def test_sending_a_chunk_does_not_query_per_digest(db, fake, django_assert_max_num_queries):
    ids = planned_digests(20)
    # The claim's transaction (savepoint, cancel, expire, claim, release), digests+subscribers,
    # items, papers, one UPDATE for the sent ones: the same for 20 digests as for 200.
    with django_assert_max_num_queries(9):
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


# --- Left means left ---------------------------------------------------------------------------


def leave(subscriber: Subscriber, how: str) -> None:
    """What each way of leaving writes, done after the digest was planned."""
    if how == "suppressed":  # e.g. erased under an older row, or suppressed by the provider
        Suppression.objects.create(email_hash=email_hash(subscriber.email.upper()), reason="bounced")
    else:
        Subscriber.objects.filter(pk=subscriber.pk).update(status=how)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("unsubscribed", "the subscriber is unsubscribed"),
        ("paused", "the subscriber is paused"),
        ("bounced", "the subscriber is bounced"),
        ("complained", "the subscriber is complained"),
        ("pending", "the subscriber is pending"),
        ("suppressed", "the address is on the suppression list (bounced)"),
    ],
)
def test_a_digest_whose_subscriber_left_after_planning_is_cancelled_not_sent(db, fake, how, reason):
    stays, leaves = planned_digests(2)
    leave(Digest.objects.get(id=leaves).subscriber, how)

    report = digests_send(digest_ids=[stays, leaves], policy=FAST)

    assert (report.claimed, report.cancelled, report.sent) == (1, 1, 1)
    assert [int(body["custom_args"]["digest_id"]) for body in fake.accepted] == [stays]
    cancelled = Digest.objects.get(id=leaves)
    assert cancelled.status == "cancelled"
    assert cancelled.last_error == f"Cancelled before sending: {reason}."
    assert (cancelled.attempts, cancelled.claimed_at) == (0, None)
    assert not cancelled.items.filter(released=False).exists()
    assert cancelled.items.count() == 4  # kept for the admin and the data export
    assert not Digest.objects.get(id=stays).items.filter(released=True).exists()


def test_a_repeated_claim_of_a_cancelled_digest_does_nothing(db, fake):
    [digest_id] = planned_digests(1)
    leave(Digest.objects.get().subscriber, "unsubscribed")
    digests_send(digest_ids=[digest_id], policy=FAST)
    Subscriber.objects.update(status="active")  # resubscribed: the cancelled edition stays cancelled

    again = digests_send(digest_ids=[digest_id], policy=FAST)

    assert (again.claimed, again.cancelled) == (0, 0)
    assert fake.requests == 0
    assert statuses() == {digest_id: "cancelled"}


# --- Late is never -----------------------------------------------------------------------------


PLANNED = datetime(2026, 11, 21, 6, 15, tzinfo=UTC)


def planned_at(when: datetime, *, frequency: str = "daily") -> int:
    """One digest planned at `when` (frozen), for a subscriber due then."""
    make_papers(first_seen_at=when - timedelta(hours=5), limit=150)
    make_subscriber("late@example.com", interests=["diffusion"], frequency=frequency, weekday=5)
    with time_machine.travel(when, tick=False):
        return digests_plan(force=True).planned_ids[0]


def test_the_claim_never_claims_a_daily_digest_past_its_window(db, fake):
    digest_id = planned_at(PLANNED)

    with time_machine.travel(PLANNED + timedelta(hours=24), tick=False):
        report = digests_send(digest_ids=[digest_id], policy=FAST)

    assert (report.claimed, report.expired, report.sent) == (0, 1, 0)
    assert fake.requests == 0
    digest = Digest.objects.get()
    assert digest.status == "expired"
    assert digest.last_error.startswith("Expired: not sent within 24 hours of being planned (daily")
    assert digest.attempts == 0
    assert not digest.items.filter(released=False).exists()


def test_a_digest_just_inside_its_window_is_still_sent(db, fake):
    digest_id = planned_at(PLANNED)

    with time_machine.travel(PLANNED + timedelta(hours=23, minutes=59), tick=False):
        report = digests_send(digest_ids=[digest_id], policy=FAST)

    assert (report.sent, report.expired) == (1, 0)


def test_weekly_digests_have_their_own_window_from_the_settings(db, fake, settings):
    digest_id = planned_at(PLANNED, frequency="weekly")
    assert Digest.objects.get().edition == "2026-W47"

    with time_machine.travel(PLANNED + timedelta(hours=30), tick=False):
        settings.DIGEST_SEND_WINDOW_WEEKLY_HOURS = 30
        assert digests_send(digest_ids=[digest_id], policy=FAST).expired == 1
    assert "within 30 hours of being planned (weekly" in Digest.objects.get().last_error


def test_weekly_digests_default_to_a_three_day_window(db, fake):
    digest_id = planned_at(PLANNED, frequency="weekly")

    with time_machine.travel(PLANNED + timedelta(hours=71), tick=False):
        assert digests_send(digest_ids=[digest_id], policy=FAST).sent == 1


# --- attempts counts provider calls ------------------------------------------------------------


def attempts() -> dict[int, int]:
    return dict(Digest.objects.values_list("id", "attempts"))


def test_a_release_after_an_authentication_error_does_not_count_as_an_attempt(db, fake, settings):
    ids = planned_digests(3)
    settings.SENDGRID_API_KEY = "SG.revoked"

    with pytest.raises(DigestSendingConfigurationError):
        digests_send(digest_ids=ids, policy=FAST, threads=1)

    assert fake.requests == 1
    assert attempts() == dict.fromkeys(ids, 0)


def test_a_release_after_too_many_rate_limits_does_not_count_as_an_attempt(db, fake):
    [digest_id] = planned_digests(1)
    fake.default = Reply(429, headers={"X-RateLimit-Reset": str(int(time.time()))})

    report = digests_send(digest_ids=[digest_id], policy=RetryPolicy(max_rate_limit_waits=1), threads=1)

    assert report.released == 1
    assert fake.requests == 2
    assert statuses() == {digest_id: "planned"}
    assert attempts() == {digest_id: 0}
    assert "Rate limited 2 times" in Digest.objects.get().last_error


def test_a_rendering_error_fails_the_digest_without_counting_an_attempt(db, fake):
    [digest_id] = planned_digests(1)
    Paper.objects.update(authors=5)  # a data bug the renderer trips on

    digests_send(digest_ids=[digest_id], policy=FAST)

    digest = Digest.objects.get()
    assert (digest.status, digest.attempts, fake.requests) == ("failed", 0, 0)


def test_a_failed_digest_releases_its_papers(db, fake):
    [digest_id] = planned_digests(1)
    fake.script(
        Reply(400, {"errors": [{"message": "bad address", "field": "personalizations.0.to.0.email"}]})
    )

    digests_send(digest_ids=[digest_id], policy=FAST)

    digest = Digest.objects.get()
    assert (digest.status, digest.attempts) == ("failed", 1)  # SendGrid was called: it counts
    assert digest.items.count() == 4
    assert not digest.items.filter(released=False).exists()
