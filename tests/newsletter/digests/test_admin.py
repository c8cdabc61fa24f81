from __future__ import annotations

from django.urls import reverse

from newsletter.models import Digest
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
