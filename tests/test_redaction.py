"""Tokens in URLs are hidden before a URL is logged; the shape of the URL stays readable."""

from __future__ import annotations

import logging
import secrets
import uuid

import pytest
from django.core import signing

from config.redaction import REDACTED, RedactTokensFilter, redact_path, redact_query, redact_url


def signed(purpose: str = "confirm") -> str:
    """A token exactly as newsletter.tokens makes them."""
    return signing.dumps(
        {"k": uuid.uuid4().hex, "v": 1}, salt=f"paperbox.newsletter.{purpose}", compress=True
    )


@pytest.mark.parametrize(
    "template",
    [
        "/confirm/{t}/",
        "/preferences/{t}/",
        "/preferences/{t}/pause/",
        "/preferences/{t}/export/",
        "/change-email/{t}/",
        "/unsubscribe/{t}/",
        "/digests/{t}/",
        "/digest-feed/{t}/",
        "/some/future/page/{t}/",  # not a known prefix: recognised by its signed shape
    ],
)
def test_signed_tokens_are_hidden_and_the_path_keeps_its_shape(template):
    token = signed()
    assert redact_path(template.format(t=token)) == template.format(t=REDACTED)


def test_segments_after_a_known_prefix_are_hidden_whatever_they_look_like():
    assert redact_path("/unsubscribe/short/") == f"/unsubscribe/{REDACTED}/"
    assert redact_path("/feedback/abc/up/") == f"/feedback/{REDACTED}/up/"
    assert redact_path("/digest-feed/short/") == f"/digest-feed/{REDACTED}/"


def test_random_secrets_without_a_colon_are_hidden():
    for secret in (uuid.uuid4().hex, secrets.token_urlsafe(32)):
        assert redact_path(f"/papers/feed/{secret}/") == f"/papers/feed/{REDACTED}/"


def test_percent_encoded_tokens_are_hidden():
    token = signed().replace(":", "%3A")
    assert redact_path(f"/x/{token}/") == f"/x/{REDACTED}/"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/papers/",
        "/papers/2401.12345v2/",
        "/papers/hep-th/9901001/",
        "/static/css/site.css",
        "/admin/newsletter/subscriber/42/change/",
        "/interests/preview/",
        "/webhooks/sendgrid/",
        "/confirm/",
    ],
)
def test_paths_without_secrets_are_kept(path):
    assert redact_path(path) == path


def test_query_values_that_look_like_tokens_are_hidden():
    token = signed()
    assert redact_query(f"q=robot+grasping&t={token}&date=2026-05-08") == (
        f"q=robot+grasping&t={REDACTED}&date=2026-05-08"
    )
    assert redact_query("") == ""


def test_absolute_urls_keep_scheme_host_and_port():
    token = signed()
    assert redact_url(f"https://papers.example.org:8443/preferences/{token}/?from=email#top") == (
        f"https://papers.example.org:8443/preferences/{REDACTED}/?from=email#top"
    )
    assert redact_url("-") == "-"


def test_the_filter_hides_tokens_in_djangos_request_log_messages():
    token = signed()
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s: %s", ("Not Found", f"/digests/{token}/"), None
    )
    assert RedactTokensFilter().filter(record)
    assert record.getMessage() == f"Not Found: /digests/{REDACTED}/"
