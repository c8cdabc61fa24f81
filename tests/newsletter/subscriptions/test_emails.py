from __future__ import annotations

import pytest
from django.core import mail as django_mail
from django.template.loader import render_to_string

from newsletter import mail
from newsletter.digests.rendering import DigestRenderer, DigestView, ItemView
from newsletter.models import Interest, Subscriber
from newsletter.subscriptions import emails, tokens
from papers.models import Paper
from tests.conftest import ROOT
from tests.newsletter.links import assert_link_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber() -> Subscriber:
    subscriber = Subscriber.objects.create(email="ada@example.org", status=Subscriber.Status.ACTIVE)
    Interest.objects.create(
        subscriber=subscriber, text='<script>alert("x")</script> & agents', canonical="c1"
    )
    return subscriber


def test_build_message_sets_headers_categories_and_custom_args(subscriber):
    message = mail.build_message(
        "manage",
        to="ada@example.org",
        context=emails.subscriber_context(subscriber),
        headers={"X-Test": "1"},
        categories=["manage", "test"],
        custom_args={"subscriber": "k"},
    )
    assert message.extra_headers == {"X-Test": "1"}
    assert message.sendgrid_categories == ["manage", "test"]
    assert message.sendgrid_custom_args == {"subscriber": "k"}
    assert message.alternatives[0][1] == "text/html"
    assert message.from_email == "Paperbox <papers@localhost>"


def test_subject_is_always_one_line(subscriber, settings, tmp_path):
    (tmp_path / "emails").mkdir()
    (tmp_path / "emails" / "t-subject.txt").write_text("Hello\n{{ name }}\r\nBcc: evil@example.org\n")
    (tmp_path / "emails" / "t-body.txt").write_text("body")
    (tmp_path / "emails" / "t-body.html").write_text("<p>body</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    message = mail.build_message("t", to="a@example.org", context={"name": "Ada"})
    assert message.subject == "Hello Ada Bcc: evil@example.org"


def test_subscription_emails_carry_one_click_unsubscribe_headers(subscriber):
    emails.send_manage_link(subscriber)
    [message] = django_mail.outbox
    # Only the one-click URL: nothing would read mail sent to a mailto: address.
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http://testserver/unsubscribe/") and header.count("<") == 1
    assert_link_for(header, "/unsubscribe/", subscriber, tokens.Purpose.UNSUBSCRIBE)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert_link_for(message.body, "/unsubscribe/", subscriber, tokens.Purpose.UNSUBSCRIBE)
    assert_link_for(message.alternatives[0][0], "/preferences/", subscriber, tokens.Purpose.MANAGE)


def test_confirmation_of_a_pending_address_has_no_unsubscribe_header(subscriber):
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.PENDING)
    emails.send_confirmation(subscriber)
    [message] = django_mail.outbox
    assert "List-Unsubscribe" not in message.extra_headers
    assert_link_for(message.body, "/confirm/", subscriber, tokens.Purpose.CONFIRM)
    assert "works for 7 days" in message.body


def test_interests_are_escaped_in_html_and_verbatim_in_text(subscriber):
    emails.send_welcome(subscriber)
    [message] = django_mail.outbox
    html = message.alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; agents" in html
    assert '<script>alert("x")</script> & agents' in message.body  # plain text is not HTML


def test_email_change_goes_to_the_new_address_without_unsubscribe_header(subscriber):
    emails.send_email_change(subscriber, new_email="ada@new.example")
    [message] = django_mail.outbox
    assert message.to == ["ada@new.example"]
    assert "List-Unsubscribe" not in message.extra_headers
    assert "/change-email/" in message.body


def test_send_goes_through_the_configured_backend(subscriber, settings, tmp_path):
    settings.EMAIL_BACKEND = "newsletter.delivery.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    assert emails.send_manage_link(subscriber) == 1
    [eml] = tmp_path.glob("*.eml")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml.read_text()


# --- Subjects are plain text ---------------------------------------------------------------------

HOSTILE_TITLE = 'Q&A for "LLMs": <agents> & O\'Brien'


def test_the_digest_subject_is_plain_text_not_html(subscriber):
    paper = Paper(id=1, arxiv_id="2605.00001", title=HOSTILE_TITLE, abstract="About agents.")
    view = DigestView(
        subscriber=subscriber, edition="2026-05-08", frequency="daily", items=[ItemView(paper=paper)]
    )
    message = DigestRenderer().message(view)
    assert message.subject == f"Paperbox · {HOSTILE_TITLE} · 8 May"
    assert "&amp;A" in message.alternatives[0][0]  # the HTML body is still escaped


@pytest.mark.parametrize("path", sorted((ROOT / "templates" / "emails").glob("*-subject.txt")), ids=str)
def test_every_subject_template_renders_values_as_typed(path):
    context = {
        "count": 1,
        "first_title": HOSTILE_TITLE,
        "subject_topic": HOSTILE_TITLE,
        "date_label": "week 19, 2026",
        "new_email": "a&b@x.org",
    }
    subject = mail.one_line(render_to_string(f"emails/{path.name}", context))
    assert (
        "&amp;" not in subject
        and "&quot;" not in subject
        and "&lt;" not in subject
        and "&#x27;" not in subject
    )
    # A subject added later without a variable yet must not start escaping once it gets one.
    assert "{% autoescape off %}" in path.read_text()
