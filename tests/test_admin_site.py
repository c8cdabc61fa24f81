"""The admin site: branded Paperbox on every page, and change lists readable at 1280 px in Chromium."""

from __future__ import annotations

import os
import re

import pytest
from bs4 import BeautifulSoup
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from newsletter.models import DeliveryEvent, Digest, Interest, Rating, Subscriber, TasteModel
from papers.models import FetchRun, Paper
from tests.browser import chromium_page

LONG_EMAIL = "a.very.long.address.number{n}@research-department.university-example.org"
LONG_TITLE = (
    "Scaling Sparse Autoencoders to Hundreds of Billions of Parameters: A Study of Feature Splitting, "
    "Absorption and Composition in Large Language Models"
)


def long_rows() -> None:
    """Rows as long as real ones get: institutional addresses, SendGrid's reasons, arXiv titles, errors."""
    now = timezone.now()
    for n in range(5):
        person = Subscriber.objects.create(
            email=LONG_EMAIL.format(n=n), status="active", time_zone="America/Argentina/Buenos_Aires"
        )
        Interest.objects.create(subscriber=person, text="sparse autoencoders", canonical=f"(and sae {n})")
        digest = Digest.objects.create(
            subscriber=person,
            edition="2026-W47",
            status="failed",
            sent_at=now,
            last_error="DeliveryRejected after 3 attempts: HTTP 400 from https://api.sendgrid.com/v3/mail/send: "
            "The from address does not match a verified Sender Identity.",
        )
        DeliveryEvent.objects.create(
            sg_event_id=f"event-{n}",
            event="bounce",
            email=person.email,
            timestamp=now,
            digest=digest,
            reason=f"550 5.1.1 <{person.email}>: Recipient address rejected: User unknown in virtual mailbox table",
            raw={},
        )
        paper = Paper.objects.create(
            arxiv_id=f"2611.{n:05d}",
            title=LONG_TITLE,
            authors=["Ada Lovelace"] * 30,
            sources=["hf", "arxiv-rss", "arxiv-list"],
            featured_on=now.date(),
            published_at=now,
        )
        Rating.objects.create(subscriber=person, paper=paper, value=Rating.Direction.LESS, digest=digest)
        TasteModel.objects.create(
            subscriber=person, weights=bytes(16), bias=0.5, ratings_count=4, fingerprint="f", model="m"
        )
        FetchRun.objects.create(
            source="arxiv-list",
            target="2026-11-30 cs.CL",
            url="https://arxiv.org/list/cs.CL/new?skip=0&show=2000",
            status="failed",
            started_at=now,
            finished_at=now,
            error="HTTPError: 503 Service Unavailable for url https://arxiv.org/list/cs.CL/new?skip=0&show=2000",
        )


def admin_pages() -> list[str]:
    """Every kind of admin page: index, app indexes, each model's list, add, change, history and delete
    pages, the dashboard, the password change."""
    pages = [reverse("admin:index"), reverse("admin:paperbox_dashboard"), reverse("admin:password_change")]
    pages += [reverse("admin:app_list", args=[label]) for label in ("newsletter", "papers", "auth")]
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{info}_changelist"))
        first = model.objects.order_by("pk").first()
        if first is not None:
            pages += [reverse(f"{info}_change", args=[first.pk]), reverse(f"{info}_history", args=[first.pk])]
    return pages


def test_every_admin_page_is_branded_paperbox(client, db):
    long_rows()
    login = client.get(reverse("admin:login"))
    assert_branded(login.content.decode(), "Log in")
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    pages = admin_pages()
    assert len(pages) > 20
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_branded(response.content.decode(), path)
    subscriber = Subscriber.objects.first()
    delete = client.get(reverse("admin:newsletter_subscriber_delete", args=[subscriber.pk]))
    assert_branded(delete.content.decode(), "delete")
    assert_branded(client.post(reverse("admin:logout")).content.decode(), "logged out")


def assert_branded(html: str, where: str) -> None:
    soup = BeautifulSoup(html, "lxml")
    assert re.fullmatch(r".+ \| Paperbox admin", soup.title.text.strip()), (where, soup.title.text)
    assert soup.select_one("#site-name").text.strip() == "Paperbox administration", where
    assert "Django administration" not in html and "Django site admin" not in html, where


# --- At 1280 px, in Chromium ---------------------------------------------------------------------

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""
CHANGE_LISTS = [
    "/admin/newsletter/subscriber/",
    "/admin/newsletter/digest/",
    "/admin/newsletter/deliveryevent/",
    "/admin/papers/paper/",
    "/admin/papers/fetchrun/",
]
# What the page says about its width: the page's scroll, the list's own scroll, the narrowest column
# and the headers and cells whose text does not fit them (a header breaks between words only).
MEASURE = """() => {
  const results = document.querySelector('#changelist-form .results');
  const headers = [...document.querySelectorAll('#result_list thead th')].filter(th => th.innerText.trim());
  const cells = [...document.querySelectorAll('#result_list td, #result_list th')];
  return {
    page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
    list: [results.scrollWidth, results.clientWidth],
    narrowest: Math.min(...headers.map(th => th.getBoundingClientRect().width)),
    clipped: cells.filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.className),
    rows: document.querySelectorAll('#result_list tbody tr').length,
  };
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_change_lists_are_readable_at_1280_px(live_server):
    User.objects.create_superuser("admin", "admin@example.org", "pw")
    long_rows()
    with chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        for path in CHANGE_LISTS:
            page.goto(f"{live_server.url}{path}")
            measured = page.evaluate(MEASURE)

            assert measured["rows"] == 5, path
            assert measured["page"][0] <= measured["page"][1] == 1280, (
                path,
                measured,
            )  # no sideways page scroll
            assert measured["list"][0] <= measured["list"][1], (path, measured)  # every column in view
            assert measured["narrowest"] >= 30, (path, measured)  # "ID" and a number fit in 30 px
            assert measured["clipped"] == [], (path, measured)
            assert page.evaluate("window.cspViolations") == [], path
