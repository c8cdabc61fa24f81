"""A digest's rating links in a real Chromium: a link scanner's GET records nothing, the button does,
and the preferences page undoes it."""

from __future__ import annotations

import os
import urllib.request

import pytest

from newsletter.digests.rendering import digest_view_url
from newsletter.feedback.models import Rating
from newsletter.subscriptions import tokens
from tests.browser import chromium_page
from tests.newsletter.feedback.digests import planned_digest
from tests.newsletter.subscriptions.test_browser_pages import RECORD_VIOLATIONS

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scanner_get(url: str) -> int:
    """What a mail scanner does with every link of an email: fetch it, follow redirects, read it."""
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return response.status


def test_a_scanner_records_nothing_the_button_records_and_preferences_undo(live_server, settings):
    settings.SITE_URL = live_server.url
    digest = planned_digest()
    first = digest.items.order_by("rank").first().paper
    title = " ".join(first.title.split())
    with chromium_page() as page:
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(digest_view_url(subscriber=digest.subscriber, digest_id=digest.id))
        more_url = page.locator("a:has-text('More like this')").first.get_attribute("href")

        assert scanner_get(more_url) == 200
        assert not Rating.objects.exists()

        page.locator("a:has-text('More like this')").first.click()
        page.wait_for_selector("h1:has-text('More like this?')")
        assert page.locator(".rated-title").inner_text() == title
        assert not Rating.objects.exists()  # the browser opening the link is a GET too

        page.click("button:has-text('Yes, more like this')")
        page.wait_for_selector("h1:has-text('Recorded: more like this')")
        assert list(Rating.objects.values_list("paper_id", "value")) == [(first.id, Rating.Direction.MORE)]

        page.goto(live_server.url + tokens.preferences_path(digest.subscriber))
        rating = page.locator("ul.ratings li")
        assert rating.count() == 1 and title in rating.inner_text()
        page.get_by_role("button", name=f"Undo your rating of {title}").click()
        page.wait_for_selector("text=Rating removed.")
        assert page.locator("ul.ratings li").count() == 0
        assert page.evaluate("window.cspViolations") == []
    assert not Rating.objects.exists()
