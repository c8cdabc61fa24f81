"""Every subscriber flow through Django's test client, reading the links from the sent emails."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from django.urls import reverse

from newsletter.delivery.suppressions import email_hash
from newsletter.matching import canonical_interest
from newsletter.models import DeliveryEvent, Digest, DigestItem, Interest, Subscriber, Suppression
from newsletter.subscriptions import tokens
from papers.models import Paper
from tests.fakes.sendgrid import FakeSendGrid, Reply
from tests.newsletter.subscriptions.test_forms import EXCLUSIONS

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "ada@example.org",
    "interests": "sparse autoencoder\ndiffusion video OR audio",
    "frequency": "weekly",
    "weekday": "2",
    "send_hour": "8",
    "time_zone": "Europe/Paris",
}


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in the plain-text body that starts with path_prefix."""
    match = re.search(rf"http://testserver({re.escape(path_prefix)}[^\s]+)", message.body)
    assert match, f"no {path_prefix} link in:\n{message.body}"
    return match.group(1)


def sign_up(client, **overrides) -> Subscriber:
    response = client.post("/", {**SIGNUP, **overrides})
    assert response.status_code == 302 and response["Location"] == reverse("newsletter:check_inbox")
    return Subscriber.objects.get(email=overrides.get("email", SIGNUP["email"]))


def confirmed(client) -> tuple[Subscriber, str]:
    """Sign up and confirm; returns the subscriber and their preferences path."""
    sign_up(client)
    confirm_path = link_in(mail.outbox[-1], "/confirm/")
    response = client.post(confirm_path)
    assert response.status_code == 302
    return Subscriber.objects.get(email=SIGNUP["email"]), response["Location"].removeprefix(
        "http://testserver"
    )


def test_home_page_is_the_signup_form_with_hooks_and_security_headers(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_interests"' in html
    assert '<div id="interest-preview" aria-live="polite"></div>' in html
    assert "Weekday (weekly digests)" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in html  # CSP forbids inline scripts: JS lives in static/js


def test_signup_creates_pending_subscriber_and_sends_confirmation(client):
    subscriber = sign_up(client)
    assert subscriber.status == Subscriber.Status.PENDING
    assert (subscriber.frequency, subscriber.weekday, subscriber.send_hour) == ("weekly", 2, 8)
    assert subscriber.time_zone == "Europe/Paris"
    assert subscriber.signup_ip == "127.0.0.1"
    assert [i.text for i in subscriber.interests.all()] == ["sparse autoencoder", "diffusion video OR audio"]
    [message] = mail.outbox
    assert message.to == ["ada@example.org"]
    assert message.subject == "Confirm your Paperbox subscription"
    assert "sparse autoencoder" in message.body
    assert "List-Unsubscribe" not in message.extra_headers
    html = message.alternatives[0][0]
    assert link_in(message, "/confirm/") in html


def test_confirm_link_get_shows_button_and_changes_nothing(client):
    sign_up(client)
    response = client.get(link_in(mail.outbox[0], "/confirm/"))
    assert response.status_code == 200
    assert b">Confirm</button>" in response.content
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert response["Cache-Control"] == "no-store"


def test_confirm_post_activates_records_consent_and_sends_welcome(client):
    subscriber, preferences_path = confirmed(client)
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_ip == "127.0.0.1"
    assert subscriber.confirmed_at >= subscriber.created_at
    assert preferences_path.startswith("/preferences/")
    welcome = mail.outbox[-1]
    assert welcome.subject == "You are subscribed to Paperbox"
    assert "08:00, Europe/Paris, weekly on Wednesday" in welcome.body
    assert welcome.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link_in(welcome, "/preferences/")


def test_confirming_twice_changes_nothing(client):
    subscriber, _ = confirmed(client)
    client.post(link_in(mail.outbox[0], "/confirm/"))
    again = Subscriber.objects.get()
    assert again.confirmed_at == subscriber.confirmed_at
    assert len(mail.outbox) == 2  # confirmation + one welcome


def test_signup_with_known_address_sends_manage_link_and_same_response(client):
    subscriber, _ = confirmed(client)
    mail.outbox.clear()
    response = client.post("/", {**SIGNUP, "email": "ADA@example.org", "interests": "something else"})
    assert response.status_code == 302 and response["Location"] == reverse("newsletter:check_inbox")
    [message] = mail.outbox
    assert message.to == ["ada@example.org"]
    assert message.subject == "Your Paperbox subscription"
    assert "You are already subscribed" in message.body
    assert link_in(message, "/preferences/")
    # Nothing about the subscription changed.
    assert [i.text for i in Interest.objects.filter(subscriber=subscriber)] == [
        "sparse autoencoder",
        "diffusion video OR audio",
    ]
    assert Subscriber.objects.count() == 1


def test_signup_again_while_pending_resends_confirmation(client):
    sign_up(client)
    sign_up(client)
    assert [m.subject for m in mail.outbox] == ["Confirm your Paperbox subscription"] * 2
    assert Subscriber.objects.count() == 1


def test_invalid_signup_shows_errors_next_to_fields_and_keeps_input(client):
    response = client.post("/", {**SIGNUP, "interests": 'good one\n"unclosed', "email": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "Line 2 (“&quot;unclosed”): unclosed quote at 0." in html
    assert 'aria-invalid="true"' in html
    assert "good one" in html
    assert Subscriber.objects.count() == 0 and not mail.outbox


def test_honeypot_signup_pretends_success_and_sends_nothing(client):
    response = client.post("/", {**SIGNUP, "website": "http://bot.example"})
    assert response.status_code == 302
    assert Subscriber.objects.count() == 0 and not mail.outbox


def test_signup_is_rate_limited_per_email_address(client):
    for _ in range(3):
        client.post("/", SIGNUP)
    response = client.post("/", SIGNUP)
    assert response.status_code == 429
    assert "Too many requests for this email address" in response.content.decode()
    assert len(mail.outbox) == 3


def test_signup_is_rate_limited_per_ip(client):
    for n in range(10):
        client.post("/", {**SIGNUP, "email": f"person{n}@example.org"})
    response = client.post("/", {**SIGNUP, "email": "one-more@example.org"})
    assert response.status_code == 429
    assert "Too many requests from your network" in response.content.decode()
    assert not Subscriber.objects.filter(email="one-more@example.org").exists()


def test_preferences_page_shows_current_settings(client):
    _, preferences_path = confirmed(client)
    response = client.get(preferences_path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "sparse autoencoder\ndiffusion video OR audio</textarea>" in html
    assert '<div id="interest-preview" aria-live="polite"></div>' in html
    assert 'value="Europe/Paris"' in html
    assert response["X-Robots-Tag"] == "noindex"


def test_preferences_post_updates_interests_and_schedule(client):
    subscriber, preferences_path = confirmed(client)
    response = client.post(
        preferences_path,
        {"interests": "retrieval augmented generation", "frequency": "daily", "weekday": "0",
         "send_hour": "18", "time_zone": "Asia/Tokyo", "papers_per_digest": "25"},
    )  # fmt: skip
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert (subscriber.frequency, subscriber.send_hour, subscriber.time_zone) == ("daily", 18, "Asia/Tokyo")
    assert subscriber.papers_per_digest == 25
    assert [i.text for i in subscriber.interests.all()] == ["retrieval augmented generation"]
    assert "Your preferences are saved." in client.get(response["Location"]).content.decode()


def test_signup_without_interests_and_preferences_switch_also_trending(client):
    subscriber = sign_up(client, interests="", email="grace@example.org", also_trending="on")
    assert subscriber.interests.count() == 0 and subscriber.also_trending is True
    subscriber, preferences_path = confirmed(client)
    assert subscriber.also_trending is False  # the default: the box was not ticked
    html = client.get(preferences_path).content.decode()
    assert 'name="also_trending"' in html and "Also send the top trending papers" in html
    response = client.post(
        preferences_path,
        {"interests": "", "also_trending": "on", "frequency": "daily", "weekday": "0", "send_hour": "7",
         "time_zone": "UTC", "papers_per_digest": "10"},
    )  # fmt: skip
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.interests.count() == 0 and subscriber.also_trending is True
    assert re.search(
        r'<input type="checkbox" name="also_trending"[^>]* checked>',
        client.get(preferences_path).content.decode(),
    )


def test_invalid_preferences_change_nothing(client):
    subscriber, preferences_path = confirmed(client)
    response = client.post(
        preferences_path,
        {"interests": "(unbalanced", "frequency": "daily", "weekday": "0", "send_hour": "18",
         "time_zone": "Asia/Tokyo", "papers_per_digest": "25"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Line 1" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.send_hour == 8 and subscriber.interests.count() == 2


def test_pause_and_resume(client):
    subscriber, preferences_path = confirmed(client)
    token = preferences_path.split("/")[2]
    client.post(reverse("newsletter:pause", args=[token]))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PAUSED
    client.post(reverse("newsletter:resume", args=[token]))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_pause_needs_post(client):
    subscriber, preferences_path = confirmed(client)
    token = preferences_path.split("/")[2]
    assert client.get(reverse("newsletter:pause", args=[token])).status_code == 405
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_public_forms_require_csrf_and_link_pages_only_their_link(client):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    subscriber, preferences_path = confirmed(client)
    token = preferences_path.split("/")[2]
    assert csrf_client.post("/", SIGNUP).status_code == 403
    assert (
        csrf_client.post(reverse("newsletter:request_link"), {"email": "ada@example.org"}).status_code == 403
    )
    # Browsers send `Origin: null` from a no-referrer page: the signed link alone authorizes the POST.
    response = csrf_client.post(reverse("newsletter:pause", args=[token]), HTTP_ORIGIN="null")
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PAUSED
    assert (
        csrf_client.post(reverse("newsletter:pause", args=["forged"]), HTTP_ORIGIN="null").status_code == 400
    )


def test_resubscribe_after_unsubscribe_revokes_old_links(client):
    subscriber, preferences_path = confirmed(client)
    token = preferences_path.split("/")[2]
    client.post(tokens.unsubscribe_url(subscriber).removeprefix("http://testserver"))
    response = client.post(reverse("newsletter:resume", args=[token]))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE and subscriber.unsubscribed_at is None
    assert subscriber.token_version == 2
    new_path = response["Location"].removeprefix("http://testserver")
    assert client.get(new_path).status_code == 200
    old = client.get(preferences_path)
    assert old.status_code == 400 and b"replaced by a newer one" in old.content


def test_change_email_sends_confirmation_to_new_address_and_applies_on_post(client):
    subscriber, preferences_path = confirmed(client)
    token = preferences_path.split("/")[2]
    mail.outbox.clear()
    client.post(reverse("newsletter:change_email", args=[token]), {"new_email": "ada@new.example"})
    subscriber.refresh_from_db()
    assert subscriber.email == "ada@example.org"
    [message] = mail.outbox
    assert message.to == ["ada@new.example"]
    change_path = link_in(message, "/change-email/")
    assert b"Use ada@new.example" in client.get(change_path).content
    response = client.post(change_path)
    subscriber.refresh_from_db()
    assert subscriber.email == "ada@new.example"
    assert subscriber.token_version == 2
    assert client.get(preferences_path).status_code == 400  # old links are revoked
    assert client.get(response["Location"]).status_code == 200
    assert client.post(change_path).status_code == 400  # and the change link cannot be replayed


def test_change_email_to_a_taken_address_sends_nothing_and_says_the_same(client):
    _, preferences_path = confirmed(client)
    Subscriber.objects.create(email="bob@example.org", status="active")
    token = preferences_path.split("/")[2]
    mail.outbox.clear()
    response = client.post(reverse("newsletter:change_email", args=[token]), {"new_email": "bob@example.org"})
    assert "We sent a confirmation link" in client.get(response["Location"]).content.decode()
    assert not mail.outbox


def test_lost_link_form_sends_manage_link_to_known_address_only(client):
    confirmed(client)
    mail.outbox.clear()
    for email in ("ada@example.org", "nobody@example.org"):
        response = client.post(reverse("newsletter:request_link"), {"email": email})
        assert response.status_code == 302 and response["Location"] == reverse("newsletter:check_inbox")
    [message] = mail.outbox
    assert message.to == ["ada@example.org"]
    assert link_in(message, "/preferences/")


def test_export_downloads_everything_we_hold(client):
    subscriber, preferences_path = confirmed(client)
    paper = Paper.objects.create(arxiv_id="2401.00001", title="Sparse autoencoders find features")
    digest = Digest.objects.create(subscriber=subscriber, edition="2026-W19", status="sent", paper_count=1)
    DigestItem.objects.create(
        digest=digest,
        subscriber=subscriber,
        paper=paper,
        rank=1,
        score=2.5,
        matched_interests=["sparse autoencoder"],
    )
    token = preferences_path.split("/")[2]
    assert client.get(reverse("newsletter:export", args=[token])).status_code == 405
    response = client.post(reverse("newsletter:export", args=[token]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="paperbox-my-data.json"'
    data = json.loads(response.content)
    assert data["subscriber"]["email"] == "ada@example.org"
    assert data["consent"]["signup_ip"] == "127.0.0.1" and data["consent"]["confirmed_ip"] == "127.0.0.1"
    assert [i["text"] for i in data["interests"]] == ["sparse autoencoder", "diffusion video OR audio"]
    assert data["digests"][0]["edition"] == "2026-W19"
    assert data["digests"][0]["papers"][0]["title"] == "Sparse autoencoders find features"


def test_erase_deletes_everything_and_keeps_a_hashed_suppression(client):
    subscriber, preferences_path = confirmed(client)
    paper = Paper.objects.create(arxiv_id="2401.00001", title="A paper")
    digest = Digest.objects.create(subscriber=subscriber, edition="2026-W19")
    DigestItem.objects.create(digest=digest, subscriber=subscriber, paper=paper, rank=1, score=1.0)
    DeliveryEvent.objects.create(
        sg_event_id="e1", event="delivered", email="Ada@Example.org", timestamp="2026-05-01T00:00Z", raw={}
    )
    DeliveryEvent.objects.create(
        sg_event_id="e2", event="delivered", email="other@example.org", timestamp="2026-05-01T00:00Z", raw={}
    )
    token = preferences_path.split("/")[2]
    assert b"Delete everything" in client.get(reverse("newsletter:erase", args=[token])).content
    assert Subscriber.objects.exists()  # the GET changed nothing
    response = client.post(reverse("newsletter:erase", args=[token]))
    assert response.status_code == 200 and b"Your data is deleted" in response.content
    assert not Subscriber.objects.exists() and not Interest.objects.exists()
    assert not Digest.objects.exists() and not DigestItem.objects.exists()
    assert list(DeliveryEvent.objects.values_list("sg_event_id", flat=True)) == ["e2"]
    suppression = Suppression.objects.get()
    assert suppression.email_hash == email_hash("ada@example.org") and suppression.reason == "erased"
    assert "ada" not in suppression.email_hash
    # And we never mail the address again, whatever happens.
    mail.outbox.clear()
    assert client.post("/", SIGNUP).status_code == 302
    assert not mail.outbox and not Subscriber.objects.exists()


def test_expired_confirmation_link_explains_what_to_do(client, settings):
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=dt.UTC), tick=False):
        sign_up(client)
    confirm_path = link_in(mail.outbox[0], "/confirm/")
    with time_machine.travel(dt.datetime(2026, 5, 9, tzinfo=dt.UTC), tick=False):
        response = client.post(confirm_path)
    assert response.status_code == 400
    assert b"This link has expired" in response.content
    assert b"Email me a new link" in response.content
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_pages_render_personal_data_escaped(client):
    Subscriber.objects.create(email="x@example.org", status="active")
    subscriber = Subscriber.objects.get()
    Interest.objects.create(subscriber=subscriber, text="<b>bold</b>", canonical="(and b bold)")
    response = client.get(tokens.preferences_url(subscriber).removeprefix("http://testserver"))
    assert b"<b>bold</b>" not in response.content
    assert b"&lt;b&gt;bold&lt;/b&gt;" in response.content


def test_signup_again_while_pending_takes_the_new_interests_and_schedule(client):
    sign_up(client)
    client.post("/", {**SIGNUP, "interests": "gaussian splatting", "frequency": "daily", "send_hour": "18"})
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert (subscriber.frequency, subscriber.send_hour) == ("daily", 18)
    assert [i.text for i in subscriber.interests.all()] == ["gaussian splatting"]
    second = mail.outbox[-1]
    assert "gaussian splatting" in second.body and "sparse autoencoder" not in second.body


def test_change_of_address_reactivates_a_bounced_subscription(client):
    subscriber, preferences_path = confirmed(client)
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.BOUNCED)
    token = preferences_path.split("/")[2]
    assert b"bounced" in client.get(preferences_path).content
    client.post(reverse("newsletter:change_email", args=[token]), {"new_email": "ada@moved.example"})
    client.post(link_in(mail.outbox[-1], "/change-email/"))
    subscriber.refresh_from_db()
    assert (subscriber.email, subscriber.status) == ("ada@moved.example", Subscriber.Status.ACTIVE)


def test_change_of_address_keeps_a_complaint(client):
    subscriber, preferences_path = confirmed(client)
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.COMPLAINED)
    token = preferences_path.split("/")[2]
    client.post(reverse("newsletter:change_email", args=[token]), {"new_email": "ada@moved.example"})
    client.post(link_in(mail.outbox[-1], "/change-email/"))
    subscriber.refresh_from_db()
    assert (subscriber.email, subscriber.status) == ("ada@moved.example", Subscriber.Status.COMPLAINED)


# --- Through the SendGrid backend, against the loopback fake that validates every request -------


@pytest.fixture
def sendgrid(settings):
    with FakeSendGrid(api_key="SG.subscriptions-test") as server:
        settings.EMAIL_BACKEND = "newsletter.delivery.sendgrid.SendGridBackend"
        settings.SENDGRID_API_KEY = "SG.subscriptions-test"
        settings.SENDGRID_API_HOST = server.url
        settings.SENDGRID_TIMEOUT = 5
        yield server
        assert server.invalid == []  # every email we sent was valid for SendGrid's schema


def sent_text(body: dict) -> str:
    return next(part["value"] for part in body["content"] if part["type"] == "text/plain")


def test_signup_and_confirmation_emails_go_through_sendgrid(client, sendgrid):
    sign_up(client)
    [confirmation] = sendgrid.accepted
    assert confirmation["personalizations"][0]["to"] == [{"email": "ada@example.org"}]
    confirm_path = re.search(r"http://testserver(/confirm/\S+)", sent_text(confirmation)).group(1)
    assert client.post(confirm_path).status_code == 302
    welcome = sendgrid.accepted[-1]
    assert welcome["subject"] == "You are subscribed to Paperbox"
    assert welcome["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_confirmation_succeeds_even_when_the_welcome_email_fails(client, sendgrid):
    sign_up(client)
    confirm_path = re.search(r"http://testserver(/confirm/\S+)", sent_text(sendgrid.accepted[0])).group(1)
    sendgrid.script(Reply(503))
    response = client.post(confirm_path)
    assert response.status_code == 302 and "/preferences/" in response["Location"]
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


def test_a_failing_provider_changes_nothing_the_forms_answer(client, sendgrid):
    # The emails are sent by a task after the answer: the person is told the same, and the task
    # retries (tests/newsletter/test_tasks_subscriptions.py follows it through a real worker).
    sendgrid.default = Reply(500)
    assert sign_up(client).status == Subscriber.Status.PENDING
    subscriber = Subscriber.objects.get()
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.ACTIVE)
    response = client.post(reverse("newsletter:request_link"), {"email": "ada@example.org"})
    assert response.status_code == 302 and response["Location"] == reverse("newsletter:check_inbox")
    token = tokens.preferences_url(subscriber).removeprefix("http://testserver").split("/")[2]
    response = client.post(reverse("newsletter:change_email", args=[token]), {"new_email": "ada@new.example"})
    assert "We sent a confirmation link" in client.get(response["Location"]).content.decode()
    assert sendgrid.requests >= 3 and sendgrid.accepted == []
    subscriber.refresh_from_db()
    assert subscriber.email == "ada@example.org"


# --- Links grant only what they say ------------------------------------------------------------


def unsubscribe_path(subscriber: Subscriber) -> str:
    return tokens.unsubscribe_url(subscriber).removeprefix("http://testserver")


def assert_reveals_nothing_about_the_subscriber(html: str, subscriber: Subscriber) -> None:
    for secret in ("/preferences/", "/export/", "/erase/", "/change-email/", "/confirm/", "/digests/"):
        assert secret not in html, secret
    assert subscriber.email not in html and subscriber.email.split("@")[0] not in html
    assert "Download my data" not in html and "Delete" not in html


def test_the_unsubscribe_page_shows_no_address_and_no_other_link_before_and_after(client):
    subscriber, _ = confirmed(client)
    path = unsubscribe_path(subscriber)
    before = client.get(path).content.decode()
    assert ">Unsubscribe</button>" in before
    assert_reveals_nothing_about_the_subscriber(before, subscriber)

    after = client.post(path, {"List-Unsubscribe": "One-Click"}).content.decode()
    assert "You are unsubscribed" in after and ">Subscribe again</button>" in after
    assert ">Email me my preferences link</button>" in after
    assert_reveals_nothing_about_the_subscriber(after, subscriber)


def test_the_unsubscribe_link_undoes_itself_and_still_unsubscribes_afterwards(client):
    subscriber, _ = confirmed(client)
    path = unsubscribe_path(subscriber)
    client.post(path, {"List-Unsubscribe": "One-Click"})

    response = client.post(reverse("newsletter:undo_unsubscribe", args=[path.split("/")[2]]))
    assert response.status_code == 302 and response["Location"] == path  # back to the same page
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE and subscriber.token_version == 1
    page = client.get(path).content.decode()
    assert "You are subscribed again." in page and ">Unsubscribe</button>" in page
    assert_reveals_nothing_about_the_subscriber(page, subscriber)

    client.post(path, {"List-Unsubscribe": "One-Click"})  # the very same link still works
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_an_old_unsubscribe_cannot_be_undone_from_its_link(client):
    import datetime as dt

    import time_machine

    subscriber, _ = confirmed(client)
    path = unsubscribe_path(subscriber)
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=8)):
        client.post(path, {"List-Unsubscribe": "One-Click"})
    assert ">Subscribe again</button>" not in client.get(path).content.decode()
    client.post(reverse("newsletter:undo_unsubscribe", args=[path.split("/")[2]]))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_email_me_my_preferences_link_mails_the_address_on_file_and_is_rate_limited(client):
    subscriber, _ = confirmed(client)
    client.post(unsubscribe_path(subscriber), {"List-Unsubscribe": "One-Click"})
    mail.outbox.clear()
    link = reverse(
        "newsletter:unsubscribe_preferences_link", args=[unsubscribe_path(subscriber).split("/")[2]]
    )

    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == reverse("newsletter:check_inbox")
    [message] = mail.outbox
    assert message.to == ["ada@example.org"] and link_in(message, "/preferences/")
    assert client.get(link).status_code == 405  # a scanner following links sends nothing

    for _ in range(2):
        client.post(link)
    response = client.post(link)
    assert response.status_code == 429
    assert "Too many requests for this email address" in response.content.decode()
    assert len(mail.outbox) == 3


# --- Relative redirects: the pages work on any host name, not only SITE_URL's ------------------


def test_post_redirects_stay_on_the_host_the_page_was_opened_on(client, settings):
    settings.SITE_URL = "https://paperbox.example"  # what emails link to; this browser is elsewhere
    sign_up(client)
    response = client.post(link_in_site(mail.outbox[0], "/confirm/"))
    assert response.status_code == 302 and response["Location"].startswith("/preferences/")
    preferences_path = response["Location"]
    token = preferences_path.split("/")[2]
    html = client.get(preferences_path).content.decode()
    # The feed's address is for a feed reader, not this browser: the public one, as in an email.
    feed_url = re.search(r'id="feed-url" value="([^"]+)"', html).group(1)
    assert feed_url.startswith("https://paperbox.example/digest-feed/")
    html = html.replace(feed_url, "")
    assert 'action="/unsubscribe/' in html and "paperbox.example" not in html

    subscriber = Subscriber.objects.get()
    client.post(tokens.unsubscribe_url(subscriber).removeprefix(settings.SITE_URL))
    response = client.post(reverse("newsletter:resume", args=[token]))
    assert response["Location"].startswith("/preferences/")

    new_token = response["Location"].split("/")[2]
    client.post(reverse("newsletter:change_email", args=[new_token]), {"new_email": "ada@new.example"})
    response = client.post(link_in_site(mail.outbox[-1], "/change-email/"))
    assert response.status_code == 302 and response["Location"].startswith("/preferences/")
    assert client.get(response["Location"]).status_code == 200


def link_in_site(message, path_prefix: str) -> str:
    match = re.search(rf"https://paperbox\.example({re.escape(path_prefix)}\S+)", message.body)
    assert match, message.body
    return match.group(1)


# --- Canonical forms that would not fit the column ------------------------------------------------


def test_an_interest_too_long_in_canonical_form_is_refused_with_a_message(client):
    assert len(EXCLUSIONS) == 181 and len(canonical_interest(EXCLUSIONS)) == 457
    response = client.post("/", {**SIGNUP, "interests": f"fine\n{EXCLUSIONS}"})
    assert response.status_code == 400
    assert "Line 2 (“x -a -b -c" in response.content.decode()
    assert "has too many terms to store" in response.content.decode()
    assert not Subscriber.objects.exists() and not mail.outbox


def test_preferences_refuse_an_interest_too_long_in_canonical_form(client):
    subscriber, preferences_path = confirmed(client)
    response = client.post(
        preferences_path,
        {"interests": EXCLUSIONS, "frequency": "daily", "weekday": "0", "send_hour": "18",
         "time_zone": "UTC", "papers_per_digest": "10"},
    )  # fmt: skip
    assert response.status_code == 400 and "has too many terms to store" in response.content.decode()
    assert subscriber.interests.count() == 2


# --- No enumeration ---------------------------------------------------------------------------


def test_known_and_unknown_addresses_get_the_same_answers_and_the_same_work(client):
    # The same answer, and the same work while the person waits: counting the attempt and queueing one
    # task. What differs (writing a signup, which email, if any) happens in that task, after the answer.
    _, preferences_path = confirmed(client)
    client.get(preferences_path)  # shows (and so clears) the confirmation's message
    Subscriber.objects.create(email="bob@example.org", status="active")
    mail.outbox.clear()

    def answer_and_queued(path: str, data: dict) -> tuple:
        response = client.post(path, data)
        queued = client.tasks_run[0]
        page = client.get(response["Location"]).content if response.status_code == 302 else b""
        return response.status_code, response.get("Location"), response.content, page, queued

    signup = [
        answer_and_queued("/", {**SIGNUP, "email": email}) for email in ("ada@example.org", "eve@example.org")
    ]
    link = [
        answer_and_queued("/link/", {"email": email}) for email in ("ada@example.org", "nobody@example.org")
    ]
    change_path = reverse("newsletter:change_email", args=[preferences_path.split("/")[2]])
    change = [
        answer_and_queued(change_path, {"new_email": email})
        for email in ("bob@example.org", "free@example.org")
    ]

    assert signup[0] == signup[1] and signup[0][4] == ["newsletter.tasks.signup_subscriber"]
    assert link[0] == link[1] and link[0][4] == ["newsletter.tasks.send_link_to_address"]
    assert change[0] == change[1] and change[0][4] == ["newsletter.tasks.send_subscription_email"]
    # The emails differ, and only they do.
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ada@example.org"], "Your Paperbox subscription"),
        (["eve@example.org"], "Confirm your Paperbox subscription"),
        (["ada@example.org"], "Your Paperbox subscription"),
        (["free@example.org"], "Confirm your new address for Paperbox"),
    ]


def test_the_consent_record_takes_the_client_address(client):
    client.post("/", SIGNUP, REMOTE_ADDR="198.51.100.7")
    subscriber = Subscriber.objects.get()
    client.post(link_in(mail.outbox[0], "/confirm/"), REMOTE_ADDR="198.51.100.8")
    subscriber.refresh_from_db()
    assert (subscriber.signup_ip, subscriber.confirmed_ip) == ("198.51.100.7", "198.51.100.8")
