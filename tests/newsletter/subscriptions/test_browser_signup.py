"""The whole life cycle in a real Chromium: sign up, confirm from the email, edit, unsubscribe."""

from __future__ import annotations

import os

import pytest

from newsletter.models import Subscriber
from tests.browser import chromium_page, link_from_outbox

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def outbox(settings, tmp_path, live_server):
    settings.EMAIL_BACKEND = "newsletter.delivery.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.SITE_URL = live_server.url
    return settings.OUTBOX_DIR


def test_signup_confirm_edit_and_unsubscribe_in_a_real_browser(live_server, outbox):
    with chromium_page(time_zone="Europe/Berlin") as page:
        page.goto(f"{live_server.url}/")
        # static/js/subscriptions.js guessed the browser's time zone and hides the weekday for daily digests.
        assert page.input_value("#id_time_zone") == "Europe/Berlin"
        assert not page.is_visible("#id_weekday")
        page.select_option("#id_frequency", "weekly")
        assert page.is_visible("#id_weekday")
        page.select_option("#id_weekday", "4")
        page.fill("#id_email", "grace@example.org")
        page.fill("#id_interests", 'sparse autoencoder\n"mixture of experts" routing')
        page.select_option("#id_send_hour", "9")
        page.click("button:has-text('Subscribe')")
        page.wait_for_selector("h1:has-text('Check your inbox')")

        subscriber = Subscriber.objects.get(email="grace@example.org")
        assert subscriber.status == "pending"
        assert (subscriber.time_zone, subscriber.frequency, subscriber.weekday, subscriber.send_hour) == (
            "Europe/Berlin", "weekly", 4, 9,
        )  # fmt: skip

        page.goto(link_from_outbox(outbox, "/confirm/", to="grace@example.org"))
        page.click("button:has-text('Confirm')")
        page.wait_for_selector("h1:has-text('Your preferences')")
        assert "You are subscribed" in page.inner_text(".messages")
        subscriber.refresh_from_db()
        assert subscriber.status == "active"

        page.fill("#id_interests", "retrieval augmented generation\ntitle:agents")
        page.fill("#id_papers_per_digest", "20")
        page.click("button:has-text('Save preferences')")
        page.wait_for_selector("text=Your preferences are saved.")
        assert list(subscriber.interests.values_list("text", flat=True)) == [
            "retrieval augmented generation",
            "title:agents",
        ]
        subscriber.refresh_from_db()
        assert subscriber.papers_per_digest == 20

        # The footer link of the welcome email: a page with a button, then one POST.
        page.goto(link_from_outbox(outbox, "/unsubscribe/", to="grace@example.org"))
        subscriber.refresh_from_db()
        assert subscriber.status == "active"
        page.click("button:has-text('Unsubscribe')")
        page.wait_for_selector("h1:has-text('You are unsubscribed')")
        subscriber.refresh_from_db()
        assert subscriber.status == "unsubscribed"
