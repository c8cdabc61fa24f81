from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail

from newsletter.delivery.suppressions import email_hash
from newsletter.models import Interest, Subscriber, Suppression
from newsletter.subscriptions import services
from newsletter.subscriptions.forms import InterestLine

pytestmark = pytest.mark.django_db

SCHEDULE = services.Schedule(frequency="daily", weekday=0, send_hour=7, time_zone="UTC")
INTERESTS = [InterestLine(text="sparse autoencoder", canonical="(and autoencod spars)")]


def signup(email: str = "ada@example.org", ip: str | None = "192.0.2.1") -> None:
    services.subscriber_signup(email=email, interests=INTERESTS, schedule=SCHEDULE, ip=ip)


def test_signup_creates_pending_subscriber_with_interests():
    signup()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == "pending" and subscriber.signup_ip == "192.0.2.1"
    assert list(subscriber.interests.values_list("text", "canonical", "position")) == [
        ("sparse autoencoder", "(and autoencod spars)", 0)
    ]
    assert [m.subject for m in mail.outbox] == ["Confirm your Paperbox subscription"]


def test_signup_finds_known_address_case_insensitively():
    Subscriber.objects.create(email="Ada@Example.org", status="active")
    signup("ada@example.ORG")
    assert Subscriber.objects.count() == 1
    assert [m.subject for m in mail.outbox] == ["Your Paperbox subscription"]


@pytest.mark.parametrize("status", ["bounced", "complained"])
def test_signup_never_mails_bounced_or_complained_addresses(status):
    Subscriber.objects.create(email="ada@example.org", status=status)
    signup()
    assert not mail.outbox


def test_signup_rate_limit_counts_known_and_unknown_addresses_alike():
    Subscriber.objects.create(email="known@example.org", status="active")
    for email in ("known@example.org", "new@example.org"):
        for _ in range(services.SIGNUP_LIMIT_PER_EMAIL[0]):
            signup(email, ip=None)
        with pytest.raises(services.RateLimited, match="this email address"):
            signup(email, ip=None)


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
    for n in range(3):
        services.subscriber_request_email_change(subscriber=subscriber, new_email=f"new{n}@example.org")
    with pytest.raises(services.RateLimited):
        services.subscriber_request_email_change(subscriber=subscriber, new_email="new9@example.org")
    assert len(mail.outbox) == 3


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
