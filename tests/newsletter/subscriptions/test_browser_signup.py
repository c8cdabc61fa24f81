"""The whole life cycle in a real Chromium: sign up, confirm from the email, edit, unsubscribe."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

from newsletter.models import Subscriber
from tests.browser import chromium_page
from tests.conftest import WorkerProcess, subprocess_env, wait_until
from tests.fakes.sendgrid import FakeSendGrid
from tests.newsletter.relevance_data import make_embedded_papers, profile, relevant_arxiv_ids

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sendgrid():
    with FakeSendGrid(api_key="SG.browser-test") as server:
        yield server
    assert server.invalid == []


@pytest.fixture
def mail_worker(live_server, tmp_path, sendgrid, settings):
    """The emails are sent by a real worker, through the SendGrid SDK to the fake, linking to the live server."""
    from config.celery import app

    settings.SITE_URL = live_server.url
    app.control.purge()
    env = subprocess_env(
        SENDGRID_API_KEY=sendgrid.api_key, SENDGRID_API_HOST=sendgrid.url, SITE_URL=live_server.url
    )
    worker = WorkerProcess(tmp_path / "worker.log", env)
    worker.start()
    yield worker
    worker.stop()


def link_from_sendgrid(sendgrid: FakeSendGrid, path_prefix: str, *, to: str) -> str:
    """The newest link to `path_prefix` in a plain-text body sent to `to`, once the worker sent it."""

    def find() -> str | None:
        for body in reversed(sendgrid.accepted):
            if body["personalizations"][0]["to"][0]["email"] != to:
                continue
            text = next(part["value"] for part in body["content"] if part["type"] == "text/plain")
            match = re.search(rf"https?://\S+?{re.escape(path_prefix)}\S+", text)
            if match:
                return match.group(0)
        return None

    return wait_until(find, timeout=60, message=f"an email to {to} with a {path_prefix} link")


def test_signup_confirm_edit_and_unsubscribe_in_a_real_browser(live_server, mail_worker, sendgrid):
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

        # The worker writes the signup, after the page answered.
        subscriber = wait_until(
            lambda: Subscriber.objects.filter(email="grace@example.org").first(), message="the signup"
        )
        assert subscriber.status == "pending"
        assert (subscriber.time_zone, subscriber.frequency, subscriber.weekday, subscriber.send_hour) == (
            "Europe/Berlin", "weekly", 4, 9,
        )  # fmt: skip

        page.goto(link_from_sendgrid(sendgrid, "/confirm/", to="grace@example.org"))
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
        page.goto(link_from_sendgrid(sendgrid, "/unsubscribe/", to="grace@example.org"))
        subscriber.refresh_from_db()
        assert subscriber.status == "active"
        page.click("button:has-text('Unsubscribe')")
        page.wait_for_selector("h1:has-text('You are unsubscribed')")
        subscriber.refresh_from_db()
        assert subscriber.status == "unsubscribed"
        assert "grace" not in page.content() and "/preferences/" not in page.content()

        # Changed their mind: the same page undoes it, and still unsubscribes afterwards.
        page.click("button:has-text('Subscribe again')")
        page.wait_for_selector("text=You are subscribed again.")
        subscriber.refresh_from_db()
        assert subscriber.status == "active"
        page.click("button:has-text('Unsubscribe')")
        page.wait_for_selector("h1:has-text('You are unsubscribed')")
        subscriber.refresh_from_db()
        assert subscriber.status == "unsubscribed"


def test_a_description_is_previewed_by_meaning_while_typing_in_a_real_browser(live_server):
    papers = make_embedded_papers(limit=80, first_seen_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    relevant = {
        papers[arxiv_id].title for arxiv_id in relevant_arxiv_ids("gaussian-splatting") if arxiv_id in papers
    }
    with chromium_page() as page:
        page.goto(f"{live_server.url}/")
        page.fill("#id_interests", "~ " + profile("gaussian-splatting")["descriptions"][0])
        page.click("#id_interests")
        page.wait_for_selector("#interest-preview li")
        summary = page.inner_text("#interest-preview p")
        assert re.search(r"would have matched \d+ of 80 papers from the last 30 days", summary), summary
        shown = page.locator("#interest-preview li").all_inner_texts()
        assert shown and set(shown) <= relevant
        page.fill("#id_interests", "like:2401.99999")
        page.click("#id_interests")
        page.wait_for_selector("#interest-preview .preview-error")
        assert "No paper 2401.99999 in Paperbox." in page.inner_text("#interest-preview")
        page.check("#id_also_trending")
        assert page.is_checked("#id_also_trending")
