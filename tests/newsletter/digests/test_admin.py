from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from newsletter.digests.sweep import digests_sweep
from newsletter.models import Digest, Subscriber
from newsletter.operations.selectors import days_ending, digest_outcomes
from tests.newsletter.digests.test_sending import planned_digests


def test_admin_lists_digests_filters_by_status_and_shows_errors(admin_client):
    first, second = planned_digests(2)
    Digest.objects.filter(id=first).update(
        status="failed", last_error="DeliveryRejected after 1 attempt: bad address"
    )

    response = admin_client.get(reverse("admin:newsletter_digest_changelist"), {"status__exact": "failed"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "DeliveryRejected after 1 attempt" in html
    assert f'href="/admin/newsletter/digest/{first}/change/' in html
    assert f'href="/admin/newsletter/digest/{second}/change/' not in html


def test_admin_change_page_shows_items_and_a_preview_link(admin_client):
    [digest_id] = planned_digests(1)

    response = admin_client.get(reverse("admin:newsletter_digest_change", args=[digest_id]))

    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("admin:newsletter_digest_preview", args=[digest_id]) in html
    assert html.count("2611.") >= 4  # the items inline names its papers


def test_admin_preview_renders_the_digest_html(admin_client):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.get(id=digest_id)

    response = admin_client.get(reverse("admin:newsletter_digest_preview", args=[digest_id]))

    assert response.status_code == 200
    html = response.content.decode()
    for item in digest.items.select_related("paper"):
        assert item.paper.hf_url in html


def test_admin_preview_needs_staff(client, db):
    [digest_id] = planned_digests(1)
    response = client.get(reverse("admin:newsletter_digest_preview", args=[digest_id]))
    assert response.status_code == 302  # to the admin login


def test_admin_filters_cancelled_and_expired_digests_and_shows_why(admin_client):
    cancelled, expired, sent = planned_digests(3)
    Subscriber.objects.filter(digests__id=cancelled).update(status="unsubscribed")
    Digest.objects.filter(id=expired).update(created_at=timezone.now() - timedelta(days=2))
    Digest.objects.filter(id=sent).update(status="sent")
    digests_sweep()
    changelist = reverse("admin:newsletter_digest_changelist")

    for status, shown, reason in [
        ("cancelled", cancelled, "Cancelled before sending: the subscriber is unsubscribed."),
        ("expired", expired, "Expired: not sent within 24 hours of being planned"),
    ]:
        html = admin_client.get(changelist, {"status__exact": status}).content.decode()
        assert f'href="/admin/newsletter/digest/{shown}/change/' in html
        assert reason in html
        others = {cancelled, expired, sent} - {shown}
        assert not any(f'href="/admin/newsletter/digest/{other}/change/' in html for other in others)
    everything = admin_client.get(changelist).content.decode()
    assert '?status__exact=cancelled"' in everything and '?status__exact=expired"' in everything


def test_admin_change_page_shows_the_send_window_and_released_items(admin_client):
    [digest_id] = planned_digests(1)
    Subscriber.objects.update(status="paused")
    digests_sweep()

    html = admin_client.get(reverse("admin:newsletter_digest_change", args=[digest_id])).content.decode()

    assert "send window ends" in html.lower()
    assert "released" in html.lower()
    assert html.count('<img src="/static/admin/img/icon-yes.svg" alt="True">') == 4  # each item released


def test_dashboard_counts_cancelled_and_expired_digests_apart(admin_client):
    ids = planned_digests(3)
    now = timezone.now()
    Digest.objects.filter(id=ids[0]).update(status="sent", sent_at=now, updated_at=now)
    Digest.objects.filter(id=ids[1]).update(status="cancelled", updated_at=now)
    Digest.objects.filter(id=ids[2]).update(status="expired", updated_at=now)

    outcomes = digest_outcomes(days=days_ending(now=now))

    assert {status: values[-1] for status, values in outcomes.items()} == {
        "sent": 1,
        "failed": 0,
        "skipped": 0,
        "cancelled": 1,
        "expired": 1,
    }
    assert admin_client.get("/admin/dashboard/").status_code == 200
