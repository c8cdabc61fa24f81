"""The suppression list and the one decision "may this subscriber be mailed?"."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from newsletter.delivery.suppressions import (
    REQUESTED_MAIL_STATUSES,
    email_hash,
    email_is_suppressed,
    subscriber_may_be_mailed,
    subscribers_mailable,
    suppression_add,
)
from newsletter.models import Subscriber, Suppression
from newsletter.subscriptions.services import subscriber_change_email

pytestmark = pytest.mark.django_db


def test_the_hash_ignores_case_and_surrounding_space():
    assert email_hash(" Ada@Example.COM ") == email_hash("ada@example.com")
    assert len(email_hash("ada@example.com")) == 64
    assert email_hash("ada@example.com") != email_hash("ada@example.org")


def test_every_way_of_creating_or_saving_a_subscriber_stores_the_hash_of_its_address():
    created = Subscriber.objects.create(email="Ada@Example.com")
    [bulk] = Subscriber.objects.bulk_create([Subscriber(email="Bob@example.com")])
    created.email = "grace@example.com"
    created.save()

    stored = dict(Subscriber.objects.values_list("id", "email_hash"))
    assert stored == {created.id: email_hash("grace@example.com"), bulk.id: email_hash("bob@example.com")}


def test_the_database_refuses_a_subscriber_without_a_hash():
    Subscriber.objects.create(email="ada@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.update(email_hash="")


def test_a_confirmed_change_of_address_moves_the_hash_with_it():
    ada = Subscriber.objects.create(email="ada@example.com", status="active")
    suppression_add(email="ada@example.com", reason=Suppression.Reason.BOUNCED)
    assert not subscriber_may_be_mailed(subscriber_id=ada.id)

    subscriber_change_email(subscriber=ada, new_email="ada@example.org")

    assert ada.email_hash == email_hash("ada@example.org")
    assert subscriber_may_be_mailed(subscriber_id=ada.id)
    suppression_add(email="ADA@example.org", reason=Suppression.Reason.COMPLAINED)
    assert not subscriber_may_be_mailed(subscriber_id=ada.id)


def test_digests_go_to_active_subscribers_whose_address_is_not_suppressed():
    for status in Subscriber.Status.values:
        Subscriber.objects.create(email=f"{status}@example.com", status=status)
    Subscriber.objects.create(email="Suppressed@Example.com", status="active")
    suppression_add(email="suppressed@example.com", reason=Suppression.Reason.ERASED)

    assert list(subscribers_mailable().values_list("email", flat=True)) == ["active@example.com"]


def test_emails_a_person_asks_for_also_reach_pending_paused_and_unsubscribed_people():
    for status in Subscriber.Status.values:
        Subscriber.objects.create(email=f"{status}@example.com", status=status)
    suppression_add(email="paused@example.com", reason=Suppression.Reason.UNSUBSCRIBED)

    mailable = set(subscribers_mailable(statuses=REQUESTED_MAIL_STATUSES).values_list("email", flat=True))

    assert mailable == {"pending@example.com", "active@example.com", "unsubscribed@example.com"}


def test_an_address_without_a_subscriber_can_be_checked_too():
    suppression_add(email="gone@example.com", reason=Suppression.Reason.ERASED)
    suppression_add(email="GONE@example.com", reason=Suppression.Reason.BOUNCED)  # the first reason stays

    assert email_is_suppressed(email="Gone@Example.com")
    assert not email_is_suppressed(email="here@example.com")
    assert Suppression.objects.get().reason == "erased"
