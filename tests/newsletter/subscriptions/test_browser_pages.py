"""Pages under the site's Content-Security-Policy, in a real Chromium: what the browser refuses."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User

from newsletter.models import Interest, Subscriber
from tests.browser import chromium_page

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

