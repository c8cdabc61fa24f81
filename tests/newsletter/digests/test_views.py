from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.core import mail

from newsletter.digests.rendering import digest_view_url
from newsletter.models import Digest
from newsletter.subscriptions import tokens
from tests.newsletter.digests.test_sending import planned_digests
from tests.newsletter.links import assert_link_for
from tests.newsletter.subscriptions.queued_tasks import CommittingClient, purge_queue


@pytest.fixture
def client() -> CommittingClient:
    """Requests commit and the emails they queue are sent (tests/newsletter/subscriptions/queued_tasks.py)."""
    purge_queue()
    return CommittingClient()


def view_path(digest: Digest) -> str:
    return digest_view_url(subscriber=digest.subscriber, digest_id=digest.id).removeprefix(
        "http://testserver"
    )


def test_view_in_browser_link_shows_the_same_digest(client, db):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)

    response = client.get(view_path(digest))

    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "lxml")
    hrefs = {a["href"] for a in soup.find_all("a")}
    for item in digest.items.select_related("paper"):
        assert item.paper.hf_url in hrefs
    assert "View in browser" not in soup.text
    # The email's inline styles, and the site's stylesheet for its header; nothing else.
    assert "style-src 'self' 'unsafe-inline'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]  # default-src 'none' covers scripts


def test_the_page_has_the_sites_header_and_ways_back_to_the_site(client, db):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)

    soup = BeautifulSoup(client.get(view_path(digest)).content, "lxml")

    nav = soup.select_one("header.site-header nav")
    assert [(a.text, a["href"]) for a in nav.find_all("a")] == [
        ("Paperbox", "/"),
        ("Papers", "/papers/"),
        ("Subscribe", "/"),
    ]
    assert soup.find("link", rel="stylesheet")["href"] == "/static/css/site.css"
    assert soup.find("a", string="Browse today's papers on Paperbox")["href"] == "/papers/"


def test_the_page_shows_the_digest_and_nothing_else_about_its_subscriber(client, db):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)

    response = client.get(view_path(digest))

    html = response.content.decode()
    for other_page in (
        "/preferences/",
        "/unsubscribe/",
        "/export/",
        "/erase/",
        "/confirm/",
        "/change-email/",
    ):
        assert other_page not in html, other_page
    assert digest.subscriber.email not in html and "reader0" not in html
    soup = BeautifulSoup(html, "lxml")
    [form] = soup.find_all("form")
    assert form["method"] == "post" and form["action"].endswith("/email-link/")
    assert form.button.text == "Email me my preferences link"
    assert {name: response[name] for name in ("Cache-Control", "Referrer-Policy", "X-Robots-Tag")} == {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex",
    }
    assert "form-action 'self'" in response["Content-Security-Policy"]


def test_email_me_my_preferences_link_mails_the_address_on_file(client, db):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)
    form_action = BeautifulSoup(client.get(view_path(digest)).content, "lxml").form["action"]

    response = client.post(form_action)

    assert response.status_code == 302 and response["Location"] == "/check-your-inbox/"
    assert response["Cache-Control"] == "no-store"
    [message] = mail.outbox
    assert message.to == [digest.subscriber.email]
    assert_link_for(message.body, "/preferences/", digest.subscriber, tokens.Purpose.MANAGE)


def test_a_tampered_or_revoked_link_is_not_found(client, db):
    [digest_id] = planned_digests(1)
    digest = Digest.objects.select_related("subscriber").get(id=digest_id)
    path = view_path(digest)

    tampered = client.get(path[:-3] + "xx/")
    assert tampered.status_code == 404 and tampered["Cache-Control"] == "no-store"
    assert b"This link does not work" in tampered.content
    digest.subscriber.token_version += 1
    digest.subscriber.save()
    assert client.get(path).status_code == 404
    assert client.post(f"{path}email-link/").status_code == 400 and not mail.outbox


def test_a_link_for_someone_elses_digest_is_not_found(client, db):
    first, second = planned_digests(2)
    owner = Digest.objects.get(id=first).subscriber
    token = tokens.make_token(owner, tokens.Purpose.VIEW_DIGEST, extra={"d": second})

    response = client.get(f"/digests/{token}/")
    assert response.status_code == 404 and response["Referrer-Policy"] == "no-referrer"
