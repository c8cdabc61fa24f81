"""Operators' view of delivery: the read-only event admin and the dashboard's figures."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from newsletter.delivery.dashboard import dashboard_figures, percent
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


def test_dashboard_counts_todays_digests_by_outcome(ada, db):
    bob = Subscriber.objects.create(email="bob@example.com", status=Subscriber.Status.ACTIVE)
    add_digest(ada, "2026-05-08", Digest.Status.SENT, NOW - dt.timedelta(hours=2))
    add_digest(bob, "2026-05-08", Digest.Status.SENT, NOW - dt.timedelta(hours=1))
    add_digest(ada, "2026-05-07", Digest.Status.SENT, NOW - dt.timedelta(days=1))  # yesterday
    add_digest(bob, "2026-05-07", Digest.Status.FAILED, NOW - dt.timedelta(minutes=5))
    add_digest(ada, "2026-W19", Digest.Status.SKIPPED, NOW - dt.timedelta(minutes=5))
    add_digest(bob, "2026-W19", Digest.Status.PLANNED, NOW)
    figures = dashboard_figures(now=NOW)
    assert (figures.sent_today, figures.failed_today, figures.skipped_today) == (2, 1, 1)


def test_dashboard_rates_cover_seven_days(db):
    for i in range(18):
        add_event("delivered", NOW - dt.timedelta(hours=i))
    add_event("bounce", NOW - dt.timedelta(days=1), raw={"type": "bounce"})
    add_event("bounce", NOW - dt.timedelta(days=2))
    add_event("bounce", NOW - dt.timedelta(days=2), raw={"type": "blocked"})  # temporary: not counted
    add_event("spamreport", NOW - dt.timedelta(days=3))
    add_event("delivered", NOW - dt.timedelta(days=8))  # outside the window
    add_event("spamreport", NOW - dt.timedelta(days=9))
    figures = dashboard_figures(now=NOW)
    assert (figures.delivered_7d, figures.bounced_7d, figures.complained_7d) == (18, 2, 1)
    assert figures.bounce_rate == pytest.approx(2 / 20)
    assert figures.complaint_rate == pytest.approx(1 / 18)


def test_dashboard_rates_are_none_without_deliveries(db):
    figures = dashboard_figures(now=NOW)
    assert (figures.bounce_rate, figures.complaint_rate) == (None, None)
    assert percent(None) == "n/a"
    assert percent(0.0123) == "1.23%"


def test_dashboard_page_shows_the_figures(operator, ada):
    add_digest(ada, "2026-05-08", Digest.Status.SENT, NOW - dt.timedelta(hours=1))
    for i in range(3):
        add_event("delivered", NOW - dt.timedelta(hours=i))
    add_event("bounce", NOW - dt.timedelta(hours=1))
    with time_machine.travel(NOW, tick=False):
        page = operator.get("/admin/dashboard/").content.decode()
    assert '<td id="sent-today">1</td>' in page
    assert '<td id="delivered-7d">3</td>' in page
    assert "25.00%" in page and "1 bounced of 4" in page
    assert "0 complaints of 3 delivered" in page


def test_dashboard_is_for_staff_only(client, db):
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_index_links_to_the_dashboard(operator):
    page = operator.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("admin:paperbox_dashboard")}"' in page
