"""Pages under the site's Content-Security-Policy, in a real Chromium: what the browser refuses."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User

from newsletter.digests.rendering import digest_view_url
from newsletter.models import Digest, Interest, Subscriber
from newsletter.subscriptions import tokens
from tests.browser import chromium_page
from tests.newsletter.digests.test_sending import planned_digests
from tests.newsletter.subscriptions.queued_tasks import run_queued_tasks

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects what the CSP blocked, from the first script the page runs.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def test_the_subscriber_change_list_breaks_no_csp_rule(live_server):
    User.objects.create_superuser("admin", "admin@example.org", "pw")
    ada = Subscriber.objects.create(email="ada@example.org", status="active")
    Interest.objects.create(subscriber=ada, text="sparse autoencoder", canonical="(and autoencod spars)")
    with chromium_page() as page:
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/newsletter/subscriber/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.wait_for_selector("#subscriber-status-counts")

        assert page.evaluate("window.cspViolations") == []
        # The two summary tables sit side by side, as the stylesheet says.
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.subscriber-summary')).display") == "flex"
        )


def test_the_confirm_button_works_on_a_host_other_than_site_url(live_server, settings):
    # As with `WEB_PORT=8100 make run`: the emails name one origin, the browser is on another.
    settings.SITE_URL = live_server.url.replace("localhost", "127.0.0.1")
    subscriber = Subscriber.objects.create(email="ada@example.org")
    confirm_path = tokens.confirm_url(subscriber).removeprefix(settings.SITE_URL)
    with chromium_page() as page:
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(f"{live_server.url}{confirm_path}")
        page.click("button:has-text('Confirm')")
        page.wait_for_selector("h1:has-text('Your preferences')")
        assert page.url.startswith(f"{live_server.url}/preferences/")
        assert page.evaluate("window.cspViolations") == []
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_the_view_in_browser_page_emails_the_preferences_link_without_showing_it(live_server, settings):
    from config.celery import app

    settings.SITE_URL = live_server.url
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)
    app.control.purge()
    with chromium_page() as page:
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(digest_view_url(subscriber=digest.subscriber, digest_id=digest.id))
        assert digest.subscriber.email not in page.content()
        # The site's header, styled by the site's stylesheet (which the page's CSP lets in).
        brand = page.locator("header.site-header a.brand")
        assert brand.is_visible()
        assert brand.evaluate("a => getComputedStyle(a).fontWeight") == "700"
        # The page sends no Referer: the browser posts its form with `Origin: null`.
        page.click("button:has-text('Email me my preferences link')")
        page.wait_for_selector("h1:has-text('Check your inbox')")
        assert page.evaluate("window.cspViolations") == []
    assert run_queued_tasks() == [["newsletter.tasks.send_subscription_email"]]
