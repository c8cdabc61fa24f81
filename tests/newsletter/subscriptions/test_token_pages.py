"""Every page reached through a signed link is private: not stored, not indexed, no Referer."""

from __future__ import annotations

import pytest
from django.urls import reverse

from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from newsletter.subscriptions.token_pages import PRIVATE_HEADERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber.objects.create(email="ada@example.org", status=Subscriber.Status.ACTIVE)


def token_requests(subscriber: Subscriber) -> list[tuple[str, str]]:
    manage = tokens.make_token(subscriber, tokens.Purpose.MANAGE)
    unsubscribe = tokens.make_token(subscriber, tokens.Purpose.UNSUBSCRIBE)
    change = tokens.make_token(subscriber, tokens.Purpose.CHANGE_EMAIL, extra={"email": "ada@new.example"})
    confirm = tokens.make_token(subscriber, tokens.Purpose.CONFIRM)
    return [
        ("get", reverse("newsletter:confirm", args=[confirm])),
        ("post", reverse("newsletter:confirm", args=[confirm])),
        ("get", reverse("newsletter:preferences", args=[manage])),
        ("post", reverse("newsletter:pause", args=[manage])),
        ("post", reverse("newsletter:resume", args=[manage])),
        ("post", reverse("newsletter:change_email", args=[manage])),
        ("post", reverse("newsletter:export", args=[manage])),
        ("get", reverse("newsletter:erase", args=[manage])),
        ("get", reverse("newsletter:change_email_confirm", args=[change])),
        ("get", reverse("newsletter:unsubscribe", args=[unsubscribe])),
        ("post", reverse("newsletter:unsubscribe_preferences_link", args=[unsubscribe])),
        ("post", reverse("newsletter:undo_unsubscribe", args=[unsubscribe])),
        ("post", reverse("newsletter:unsubscribe", args=[unsubscribe])),
        ("get", reverse("newsletter:preferences", args=["not-a-token"])),  # the invalid-link page
        ("post", reverse("newsletter:unsubscribe", args=["not-a-token"])),
    ]


def test_every_token_page_and_redirect_is_private(client, subscriber):
    for method, path in token_requests(subscriber):
        response = getattr(client, method)(path)
        assert response.status_code in (200, 302, 400), (method, path, response.status_code)
        headers = {name: response.get(name) for name in PRIVATE_HEADERS}
        assert headers == {
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
        }, (method, path)


def test_public_pages_keep_the_site_referrer_policy(client):
    response = client.get("/")
    assert response["Referrer-Policy"] == "same-origin" and "Cache-Control" not in response
