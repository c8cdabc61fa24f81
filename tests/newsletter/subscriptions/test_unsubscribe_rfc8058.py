"""RFC 8058 one-click unsubscribe: POST with either body encoding, no cookie, no CSRF token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.client import encode_multipart

from newsletter.models import Subscriber
from newsletter.subscriptions import tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber.objects.create(email="ada@example.org", status=Subscriber.Status.ACTIVE)


def path_of(subscriber: Subscriber) -> str:
    return tokens.unsubscribe_url(subscriber).removeprefix("http://testserver")


def assert_unsubscribed(response, subscriber: Subscriber) -> None:
    assert response.status_code == 200  # 200 itself, not a redirect
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_one_click_post_urlencoded_without_cookies_or_csrf(subscriber):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        path_of(subscriber), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert_unsubscribed(response, subscriber)
    assert not response.cookies  # the endpoint neither needs nor sets any cookie


def test_one_click_post_multipart_without_cookies_or_csrf(subscriber):
    client = Client(enforce_csrf_checks=True)
    boundary = "paperboxBoundary"
    body = encode_multipart(boundary, {"List-Unsubscribe": "One-Click"})
    response = client.post(
        path_of(subscriber), body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert_unsubscribed(response, subscriber)


def test_one_click_post_with_cookies_of_a_browser_session(subscriber):
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32
    client.cookies["sessionid"] = "whatever"
    response = client.post(path_of(subscriber), {"List-Unsubscribe": "One-Click"})
    assert_unsubscribed(response, subscriber)


def test_get_shows_a_confirm_page_and_never_unsubscribes(subscriber):
    client = Client()
    for _ in range(3):  # mail scanners may open the link repeatedly
        response = client.get(path_of(subscriber))
        assert response.status_code == 200
    assert b'<input type="hidden" name="List-Unsubscribe" value="One-Click">' in response.content
    assert b">Unsubscribe</button>" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert client.head(path_of(subscriber)).status_code == 405
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_repeated_one_click_posts_are_idempotent(subscriber):
    client = Client()
    client.post(path_of(subscriber), {"List-Unsubscribe": "One-Click"})
    subscriber.refresh_from_db()
    first = subscriber.unsubscribed_at
    response = client.post(path_of(subscriber), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at == first


def test_one_click_with_a_forged_token_changes_nothing(subscriber):
    token = tokens.make_token(subscriber, tokens.Purpose.MANAGE)  # right key, wrong purpose
    response = Client().post(f"/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_unsubscribe_link_survives_a_pause(subscriber):
    path = path_of(subscriber)
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.PAUSED)
    assert_unsubscribed(Client().post(path, {"List-Unsubscribe": "One-Click"}), subscriber)
