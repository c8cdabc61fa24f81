from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail

from newsletter.delivery.suppressions import email_hash, suppression_add
from newsletter.models import Interest, Subscriber, Suppression
from newsletter.subscriptions import services
from newsletter.subscriptions.forms import InterestLine
from newsletter.subscriptions.ratelimit import RateLimited
from newsletter.subscriptions.services import EmailKind, subscriber_email_send
from tests.fakes.sendgrid import FakeSendGrid, Reply

pytestmark = pytest.mark.django_db

SCHEDULE = services.Schedule(frequency="daily", weekday=0, send_hour=7, time_zone="UTC")
INTERESTS = [InterestLine(text="sparse autoencoder", canonical="(and autoencod spars)")]


def signup(email: str = "ada@example.org", ip: str | None = "192.0.2.1") -> int | None:
    return services.subscriber_signup(email=email, interests=INTERESTS, schedule=SCHEDULE, ip=ip)


def test_signup_creates_pending_subscriber_with_interests_and_sends_nothing_itself():
    subscriber_id = signup()
    subscriber = Subscriber.objects.get()
    assert subscriber_id == subscriber.pk
    assert subscriber.status == "pending" and subscriber.signup_ip == "192.0.2.1"
    assert list(subscriber.interests.values_list("text", "canonical", "position")) == [
        ("sparse autoencoder", "(and autoencod spars)", 0)
    ]
    assert not mail.outbox  # the caller queues the email


def test_signup_finds_known_address_case_insensitively():
    known = Subscriber.objects.create(email="Ada@Example.org", status="active")
    assert signup("ada@example.ORG") == known.pk
    assert Subscriber.objects.count() == 1 and not mail.outbox


def test_signup_for_a_suppressed_address_creates_nothing_and_names_no_one():
    suppression_add(email="ada@example.org", reason=Suppression.Reason.ERASED)
    assert signup() is None
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("status", ["bounced", "complained"])
def test_the_link_email_never_goes_to_bounced_or_complained_addresses(status):
    subscriber = Subscriber.objects.create(email="ada@example.org", status=status)
    assert signup() == subscriber.pk  # the same answer as for anyone: the email decides
    outcome = subscriber_email_send(kind=EmailKind.LINK, subscriber_id=subscriber.pk)
    assert outcome == f"skipped: the link email does not apply (subscriber {status})"
    assert not mail.outbox


def test_the_link_email_is_the_confirmation_while_pending_and_the_preferences_link_after():
    subscriber = Subscriber.objects.create(email="ada@example.org")
    assert subscriber_email_send(kind=EmailKind.LINK, subscriber_id=subscriber.pk) == "sent: link"
    Subscriber.objects.filter(pk=subscriber.pk).update(status="unsubscribed")
    subscriber_email_send(kind=EmailKind.LINK, subscriber_id=subscriber.pk)
    assert [m.subject for m in mail.outbox] == [
        "Confirm your Paperbox subscription",
        "Your Paperbox subscription",
    ]


def test_an_email_queued_before_a_change_is_decided_again_when_sent():
    gone = Subscriber.objects.create(email="gone@example.org", status="active")
    gone_id = gone.pk
    gone.delete()
    left = Subscriber.objects.create(email="left@example.org", status="unsubscribed")
    erased = Subscriber.objects.create(email="erased@example.org", status="active")
    suppression_add(email="erased@example.org", reason=Suppression.Reason.ERASED)
    mover = Subscriber.objects.create(email="ada@example.org", status="active")
    Subscriber.objects.create(email="taken@example.org", status="active")

    assert subscriber_email_send(kind=EmailKind.LINK, subscriber_id=gone_id) == (
        "skipped: the subscriber no longer exists"
    )
    assert subscriber_email_send(kind=EmailKind.WELCOME, subscriber_id=left.pk) == (
        "skipped: the welcome email does not apply (subscriber unsubscribed)"
    )
    assert subscriber_email_send(kind=EmailKind.LINK, subscriber_id=erased.pk) == (
        "skipped: the address is suppressed"
    )
    outcome = subscriber_email_send(
        kind=EmailKind.CHANGE_EMAIL, subscriber_id=mover.pk, new_email="taken@example.org"
    )
    assert outcome == "skipped: the change-email email does not apply (subscriber active)"
    assert not mail.outbox


def test_a_change_of_address_email_goes_to_the_new_address_even_after_a_bounce():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="bounced")
    outcome = subscriber_email_send(
        kind=EmailKind.CHANGE_EMAIL, subscriber_id=subscriber.pk, new_email="ada@moved.example"
    )
    assert outcome == "sent: change-email"
    assert [m.to for m in mail.outbox] == [["ada@moved.example"]]


def test_a_failing_provider_raises_for_a_retry_and_a_refused_message_does_not(settings):
    subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
    with FakeSendGrid(api_key="SG.services-test") as sendgrid:
        settings.EMAIL_BACKEND = "newsletter.delivery.sendgrid.SendGridBackend"
        settings.SENDGRID_API_KEY = sendgrid.api_key
        settings.SENDGRID_API_HOST = sendgrid.url
        sendgrid.script(Reply(503), Reply(400))
        with pytest.raises(services.EmailUnavailable, match="link email to subscriber"):
            subscriber_email_send(kind=EmailKind.LINK, subscriber_id=subscriber.pk)
        assert subscriber_email_send(kind=EmailKind.LINK, subscriber_id=subscriber.pk) == (
            "refused by the provider"
        )
        assert subscriber_email_send(kind=EmailKind.LINK, subscriber_id=subscriber.pk) == "sent: link"
    assert len(sendgrid.accepted) == 1


def test_signup_rate_limit_counts_known_and_unknown_addresses_alike():
    Subscriber.objects.create(email="known@example.org", status="active")
    for email in ("known@example.org", "new@example.org"):
        for _ in range(services.SIGNUP_LIMIT_PER_EMAIL[0]):
            services.subscriber_signup_check_limits(email=email, ip=None)
        with pytest.raises(RateLimited, match="this email address"):
            services.subscriber_signup_check_limits(email=email, ip=None)


def test_confirm_is_a_conditional_update():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="unsubscribed")
    assert services.subscriber_confirm(subscriber=subscriber, ip="192.0.2.9") is False
    subscriber.refresh_from_db()
    assert subscriber.status == "unsubscribed" and subscriber.confirmed_at is None
    assert not mail.outbox


def test_update_preferences_replaces_interests_in_order():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
    Interest.objects.create(subscriber=subscriber, text="old", canonical="old")
    lines = [InterestLine("b topic", "b"), InterestLine("a topic", "a")]
    services.subscriber_update_preferences(
        subscriber=subscriber, interests=lines, schedule=SCHEDULE, papers_per_digest=5
    )
    assert list(subscriber.interests.values_list("text", "position")) == [("b topic", 0), ("a topic", 1)]
    assert subscriber.papers_per_digest == 5


def test_pause_only_from_active_and_resume_only_from_paused():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="pending")
    assert services.subscriber_pause(subscriber=subscriber) is False
    assert services.subscriber_resume(subscriber=subscriber) is False
    assert subscriber.status == "pending"


def test_unsubscribe_records_when_and_is_idempotent():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=dt.UTC), tick=False):
        assert services.subscriber_unsubscribe(subscriber=subscriber) is True
    assert services.subscriber_unsubscribe(subscriber=subscriber) is False
    assert subscriber.unsubscribed_at == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def test_unsubscribe_does_not_touch_bounced():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="bounced")
    assert services.subscriber_unsubscribe(subscriber=subscriber) is False
    assert subscriber.status == "bounced"


def test_change_email_to_taken_address_raises_and_changes_nothing():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
    Subscriber.objects.create(email="bob@example.org", status="active")
    with pytest.raises(services.EmailTaken):
        services.subscriber_change_email(subscriber=subscriber, new_email="BOB@example.org")
    subscriber.refresh_from_db()
    assert subscriber.email == "ada@example.org" and subscriber.token_version == 1


def test_email_change_requests_are_rate_limited_per_subscriber():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
    for _ in range(3):
        services.subscriber_email_change_check_limits(subscriber=subscriber)
    with pytest.raises(RateLimited, match="Too many email changes"):
        services.subscriber_email_change_check_limits(subscriber=subscriber)


def test_link_requests_from_every_form_share_the_per_address_limit():
    subscriber = Subscriber.objects.create(email="ada@example.org", status="unsubscribed")
    services.subscriber_link_check_limits(email="ada@example.org", ip="192.0.2.1")
    services.subscriber_preferences_link_request(subscriber=subscriber, ip="192.0.2.2")
    services.subscriber_link_check_limits(email="ADA@example.org", ip="192.0.2.3")
    with pytest.raises(RateLimited, match="this email address"):
        services.subscriber_preferences_link_request(subscriber=subscriber, ip="192.0.2.4")


def test_the_link_recipient_is_a_known_address_not_suppressed():
    known = Subscriber.objects.create(email="Ada@example.org", status="active")
    Subscriber.objects.create(email="erased@example.org", status="active")
    suppression_add(email="erased@example.org", reason=Suppression.Reason.ERASED)
    assert services.subscriber_link_recipient(email="ada@EXAMPLE.org") == known.pk
    assert services.subscriber_link_recipient(email="nobody@example.org") is None
    assert services.subscriber_link_recipient(email="erased@example.org") is None


def confirmed_then_unsubscribed(at: dt.datetime) -> Subscriber:
    subscriber = Subscriber.objects.create(
        email="ada@example.org", status="active", created_at=at, confirmed_at=at
    )
    with time_machine.travel(at, tick=False):
        services.subscriber_unsubscribe(subscriber=subscriber)
    return subscriber


def test_undoing_an_unsubscribe_keeps_every_link_working():
    subscriber = confirmed_then_unsubscribed(dt.datetime.now(dt.UTC) - dt.timedelta(days=6))
    assert services.subscriber_can_undo_unsubscribe(subscriber=subscriber)
    assert services.subscriber_undo_unsubscribe(subscriber=subscriber) is True
    assert (subscriber.status, subscriber.unsubscribed_at, subscriber.token_version) == ("active", None, 1)
    assert services.subscriber_undo_unsubscribe(subscriber=subscriber) is False  # nothing to undo now


def test_an_unsubscribe_older_than_the_window_cannot_be_undone_by_its_link():
    subscriber = confirmed_then_unsubscribed(dt.datetime.now(dt.UTC) - dt.timedelta(days=8))
    assert not services.subscriber_can_undo_unsubscribe(subscriber=subscriber)
    assert services.subscriber_undo_unsubscribe(subscriber=subscriber) is False
    assert subscriber.status == "unsubscribed"


def test_a_signup_never_confirmed_cannot_be_activated_by_undoing_its_unsubscribe():
    subscriber = Subscriber.objects.create(email="ada@example.org")
    services.subscriber_unsubscribe(subscriber=subscriber)
    assert services.subscriber_undo_unsubscribe(subscriber=subscriber) is False
    assert subscriber.status == "unsubscribed" and subscriber.confirmed_at is None


def test_erase_is_safe_to_repeat_for_the_same_address():
    for _ in range(2):
        subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
        services.subscriber_erase(subscriber=subscriber)
    assert Suppression.objects.get().email_hash == email_hash("ADA@example.org")


def test_purge_deletes_only_unconfirmed_signups_older_than_30_days():
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    old_pending = Subscriber.objects.create(email="a@example.org", created_at=now - dt.timedelta(days=31))
    Interest.objects.create(subscriber=old_pending, text="x", canonical="x")
    Subscriber.objects.create(email="b@example.org", created_at=now - dt.timedelta(days=29))
    Subscriber.objects.create(
        email="c@example.org", status="active", created_at=now - dt.timedelta(days=90),
        confirmed_at=now - dt.timedelta(days=89),
    )  # fmt: skip
    assert services.subscribers_purge_unconfirmed(now=now) == 1
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == ["b@example.org", "c@example.org"]
    assert not Interest.objects.exists()


def test_a_repeated_pending_signup_restarts_the_retention_clock():
    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=dt.UTC), tick=False):
        signup(ip="192.0.2.1")
    with time_machine.travel(dt.datetime(2026, 5, 29, tzinfo=dt.UTC), tick=False):
        signup(ip="192.0.2.9")
    assert services.subscribers_purge_unconfirmed(now=dt.datetime(2026, 6, 2, tzinfo=dt.UTC)) == 0
    subscriber = Subscriber.objects.get()
    assert subscriber.created_at == dt.datetime(2026, 5, 29, tzinfo=dt.UTC)
    assert subscriber.signup_ip == "192.0.2.9"  # the consent record names the latest request
    assert services.subscribers_purge_unconfirmed(now=dt.datetime(2026, 6, 29, tzinfo=dt.UTC)) == 1
