"""Hostile and odd input: clear messages, nothing changed, nothing sent."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from newsletter.models import Interest, Subscriber
from newsletter.subscriptions import tokens

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "ada@example.org",
    "interests": "sparse autoencoder",
    "frequency": "daily",
    "weekday": "0",
    "send_hour": "7",
    "time_zone": "UTC",
}


def assert_nothing_happened() -> None:
    assert not Subscriber.objects.exists()
    assert not mail.outbox


def test_very_long_email_is_rejected(client):
    response = client.post("/", {**SIGNUP, "email": "a" * 250 + "@example.org"})
    assert response.status_code == 400
    assert "Ensure this value has at most 254 characters" in response.content.decode()
    assert_nothing_happened()


def test_non_ascii_local_part_is_rejected_with_a_message(client):
    response = client.post("/", {**SIGNUP, "email": "ådå@example.org"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert_nothing_happened()


def test_internationalized_domain_is_accepted(client):
    assert client.post("/", {**SIGNUP, "email": "ada@bücher.example"}).status_code == 302
    assert Subscriber.objects.get().email == "ada@bücher.example"
    assert mail.outbox[0].to == ["ada@bücher.example"]


def test_header_injection_in_email_is_rejected(client):
    response = client.post("/", {**SIGNUP, "email": "ada@example.org\nBcc: victim@example.org"})
    assert response.status_code == 400
    assert_nothing_happened()


def test_html_and_script_in_interests_are_stored_verbatim_and_shown_escaped(client):
    response = client.post("/", {**SIGNUP, "interests": "<img src=x onerror=alert(1)> vision"})
    assert response.status_code == 302
    assert Interest.objects.get().text == "<img src=x onerror=alert(1)> vision"
    html = mail.outbox[0].alternatives[0][0]
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; vision" in html


def test_script_in_an_invalid_interest_is_escaped_in_the_error(client):
    response = client.post("/", {**SIGNUP, "interests": '<script>alert("x")</script> "open'})
    assert response.status_code == 400
    html = response.content.decode()
    assert "<script>alert" not in html
    assert (
        "Line 1 (“&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &quot;open”): unclosed quote at 28."
        in html
    )
    assert_nothing_happened()


def test_non_ascii_interests_are_kept(client):
    client.post("/", {**SIGNUP, "interests": "Bildverarbeitung für Ärzte\n日本語 言語モデル"})
    assert list(Interest.objects.values_list("text", flat=True)) == [
        "Bildverarbeitung für Ärzte",
        "日本語 言語モデル",
    ]


def test_twenty_one_interests_are_refused(client):
    interests = "\n".join(f"topic number {n}" for n in range(21))
    response = client.post("/", {**SIGNUP, "interests": interests})
    assert response.status_code == 400
    assert "You listed 21 interests; the limit is 20." in response.content.decode()
    assert_nothing_happened()


def test_huge_interests_payload_is_refused(client):
    response = client.post("/", {**SIGNUP, "interests": "x" * 100_000})
    assert response.status_code == 400
    assert "Ensure this value has at most" in response.content.decode()
    assert_nothing_happened()


def test_interest_of_201_characters_names_the_line(client):
    response = client.post("/", {**SIGNUP, "interests": "fine\n" + "y" * 201})
    assert response.status_code == 400
    assert "Line 2 (“" in response.content.decode() and "is 201 characters long" in response.content.decode()
    assert_nothing_happened()


def test_forged_token_shows_invalid_page_and_changes_nothing(client):
    subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
    for path in (
        f"/preferences/{'A' * 60}/",
        "/confirm/eyJrIjoiMTIzIn0:1abc:forged/",
        "/unsubscribe/%3Cscript%3E/",
    ):
        response = client.post(path, {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400, path
        assert b"This link is incomplete or was changed" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == "active"


def test_expired_preferences_link_is_refused(client):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        subscriber = Subscriber.objects.create(email="ada@example.org", status="active")
        path = tokens.preferences_url(subscriber).removeprefix("http://testserver")
    with time_machine.travel(dt.datetime(2027, 1, 2, tzinfo=dt.UTC), tick=False):
        response = client.post(f"{path}pause/")
    assert response.status_code == 400 and b"This link has expired" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == "active"


def test_replayed_confirmation_after_unsubscribe_does_not_resubscribe(client):
    client.post("/", SIGNUP)
    confirm_path = re.search(r"http://testserver(/confirm/\S+)", mail.outbox[0].body).group(1)
    client.post(confirm_path)
    subscriber = Subscriber.objects.get()
    client.post(tokens.unsubscribe_url(subscriber).removeprefix("http://testserver"))
    client.post(confirm_path)
    subscriber.refresh_from_db()
    assert subscriber.status == "unsubscribed"


def test_repeated_signups_past_the_limit_get_a_friendly_message_and_change_nothing(client):
    for _ in range(3):
        client.post("/", SIGNUP)
    before = list(Subscriber.objects.values())
    sent = len(mail.outbox)
    for _ in range(5):
        response = client.post("/", {**SIGNUP, "interests": "other things"})
        assert response.status_code == 429
        assert "Please check your inbox (and spam folder)" in response.content.decode()
    assert list(Subscriber.objects.values()) == before
    assert len(mail.outbox) == sent


def test_bogus_choice_values_are_refused(client):
    response = client.post("/", {**SIGNUP, "frequency": "hourly", "weekday": "9", "send_hour": "-1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("Select a valid choice.") == 3
    assert_nothing_happened()
