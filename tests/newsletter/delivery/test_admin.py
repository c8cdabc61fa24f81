"""Operators' view of delivery: the read-only event admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from newsletter.models import DeliveryEvent, Digest, Subscriber

NOW = dt.datetime(2026, 5, 8, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def operator(client, db):
    user = User.objects.create_superuser("operator", "op@paperbox.example", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def ada(db) -> Subscriber:
    return Subscriber.objects.create(email="ada@example.com", status=Subscriber.Status.ACTIVE)


def add_event(kind: str, when: dt.datetime, email: str = "ada@example.com", **fields) -> DeliveryEvent:
    count = DeliveryEvent.objects.count()
    raw = {"event": kind, **fields.pop("raw", {})}
    return DeliveryEvent.objects.create(
        sg_event_id=f"{kind}-{count}", event=kind, email=email, timestamp=when, raw=raw, **fields
    )


def add_digest(subscriber: Subscriber, edition: str, status: str, when: dt.datetime) -> Digest:
    return Digest.objects.create(
        subscriber=subscriber,
        edition=edition,
        status=status,
        sent_at=when if status == Digest.Status.SENT else None,
        updated_at=when,
    )


def test_event_list_shows_columns_and_filters_by_event_type(operator, ada):
    digest = add_digest(ada, "2026-05-08", Digest.Status.SENT, NOW)
    add_event("bounce", NOW, reason="550 5.1.1 The email account does not exist", digest=digest)
    add_event("open", NOW, email="bob@example.com")
    url = reverse("admin:newsletter_deliveryevent_changelist")
    page = operator.get(url).content.decode()
    assert "550 5.1.1 The email account does not exist" in page
    assert "bob@example.com" in page
    filtered = operator.get(url, {"event": "bounce"}).content.decode()
    assert "ada@example.com" in filtered and "bob@example.com" not in filtered


def test_event_list_searches_by_email(operator, ada):
    add_event("open", NOW, email="ada@example.com")
    add_event("open", NOW, email="bob@example.com")
    page = operator.get(reverse("admin:newsletter_deliveryevent_changelist"), {"q": "bob@"}).content.decode()
    assert "bob@example.com" in page and "ada@example.com" not in page


def test_events_are_read_only(operator, ada):
    event = add_event("open", NOW)
    assert operator.get(reverse("admin:newsletter_deliveryevent_add")).status_code == 403
    change = operator.get(reverse("admin:newsletter_deliveryevent_change", args=[event.id]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert operator.post(reverse("admin:newsletter_deliveryevent_delete", args=[event.id])).status_code == 403
    assert DeliveryEvent.objects.filter(id=event.id).exists()
