"""POST /webhooks/sendgrid/: signed requests act, anything else is refused and writes nothing."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from newsletter.digests.claiming import digests_claim
from newsletter.models import DeliveryEvent, Digest, Subscriber, Suppression
from tests.fakes.sendgrid import WebhookSigner

URL = "/webhooks/sendgrid/"
SIGNER = WebhookSigner()


@pytest.fixture(autouse=True)
def webhook_key(settings):
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = SIGNER.public_key
    settings.SENDGRID_WEBHOOK_MAX_AGE = 600


@pytest.fixture
def digest(db) -> Digest:
    ada = Subscriber.objects.create(email="ada@example.com", status=Subscriber.Status.ACTIVE)
    return Digest.objects.create(subscriber=ada, edition="2026-05-08", status=Digest.Status.SENT)


def events_body(*events: dict) -> bytes:
    return json.dumps(list(events)).encode()


def event(kind: str, sg_event_id: str, **extra) -> dict:
    return {
        "email": "ada@example.com",
        "timestamp": int(time.time()),
        "event": kind,
        "sg_event_id": sg_event_id,
        "sg_message_id": "abc.filter0001",
        **extra,
    }


def post(client, body: bytes, headers: dict | None = None):
    headers = SIGNER.headers(body) if headers is None else headers
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def nothing_written(digest: Digest) -> bool:
    digest.refresh_from_db()
    digest.subscriber.refresh_from_db()
    return (
        DeliveryEvent.objects.count() == 0
        and digest.subscriber.status == Subscriber.Status.ACTIVE
        and (digest.open_count, digest.click_count, digest.delivered_at) == (0, 0, None)
    )


def test_the_url_is_named_in_the_newsletter_namespace():
    assert reverse("newsletter:sendgrid_events") == URL


def test_a_signed_request_is_recorded_and_acted_on(client, digest):
    body = events_body(
        event("delivered", "d1", digest_id=str(digest.id)),
        event("open", "o1", digest_id=str(digest.id)),
        event("spamreport", "s1"),
    )
    response = post(client, body)
    assert response.status_code == 200
    assert response.json() == {"received": 3, "new": 3}
    digest.refresh_from_db()
    digest.subscriber.refresh_from_db()
    assert digest.delivered_at is not None and digest.open_count == 1
    assert digest.subscriber.status == Subscriber.Status.COMPLAINED
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED


def test_a_bounce_reported_after_planning_cancels_the_digest_at_its_claim(client, digest):
    Digest.objects.filter(pk=digest.pk).update(status=Digest.Status.PLANNED, created_at=timezone.now())

    assert post(client, events_body(event("bounce", "b1", type="bounce"))).status_code == 200
    claim = digests_claim(digest_ids=[digest.id])

    digest.refresh_from_db()
    assert (claim.claimed_ids, claim.cancelled, digest.status) == ([], 1, Digest.Status.CANCELLED)
    assert digest.last_error == "Cancelled before sending: the address is on the suppression list (bounced)."


def test_a_refused_request_suppresses_nothing(client, digest):
    signed = events_body(event("spamreport", "s1"))
    response = post(client, signed, SIGNER.headers(events_body(event("open", "o1"))))
    assert response.status_code == 403
    assert not Suppression.objects.exists()


def test_no_csrf_token_is_needed(digest):
    response = post(Client(enforce_csrf_checks=True), events_body(event("open", "o1")))
    assert response.status_code == 200


def test_a_tampered_body_is_refused_with_403(client, digest):
    signed = events_body(event("open", "o1", digest_id=str(digest.id)))
    tampered = events_body(event("spamreport", "o1"))
    response = post(client, tampered, SIGNER.headers(signed))
    assert response.status_code == 403
    assert nothing_written(digest)


def test_a_tampered_signature_is_refused_with_403(client, digest):
    body = events_body(event("spamreport", "s1"))
    headers = SIGNER.headers(body)
    signature = headers["X-Twilio-Email-Event-Webhook-Signature"]
    headers["X-Twilio-Email-Event-Webhook-Signature"] = (
        signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    )
    assert post(client, body, headers).status_code == 403
    assert nothing_written(digest)


def test_a_request_without_signature_headers_is_refused(client, digest):
    assert post(client, events_body(event("spamreport", "s1")), {}).status_code == 403
    assert nothing_written(digest)


def test_a_stale_timestamp_is_refused(client, digest):
    body = events_body(event("spamreport", "s1"))
    assert post(client, body, SIGNER.headers(body, timestamp=int(time.time()) - 601)).status_code == 403
    assert nothing_written(digest)


def test_max_age_zero_accepts_an_old_timestamp(client, digest, settings):
    settings.SENDGRID_WEBHOOK_MAX_AGE = 0
    body = events_body(event("open", "o1"))
    assert post(client, body, SIGNER.headers(body, timestamp=1_000_000_000)).status_code == 200


def test_a_replayed_request_changes_nothing_more(client, digest):
    body = events_body(
        event("open", "o1", digest_id=str(digest.id)), event("click", "c1", digest_id=str(digest.id))
    )
    assert post(client, body).json() == {"received": 2, "new": 2}
    assert post(client, body).json() == {"received": 2, "new": 0}
    digest.refresh_from_db()
    assert (digest.open_count, digest.click_count) == (1, 1)
    assert DeliveryEvent.objects.count() == 2


def test_duplicates_inside_one_body_are_stored_once(client, digest):
    body = events_body(*[event("open", "o1", digest_id=str(digest.id))] * 4)
    assert post(client, body).json() == {"received": 4, "new": 1}
    digest.refresh_from_db()
    assert digest.open_count == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"event": "open"}',
        b'["open"]',
        b'[{"event": "open", "timestamp": 1}]',
        b'[{"event": "open", "sg_event_id": "x", "timestamp": "yesterday"}]',
        b'[{"event": "open", "sg_event_id": "x", "timestamp": 1, "digest_id": "1e99"}]',
        b'[{"event": "open", "sg_event_id": "x", "timestamp": 100000000000000000000000000}]',
        b'[{"event": "open", "sg_event_id": "x", "timestamp": 1, "email": "\\u0000"}]',
        b'[{"event": "spamreport", "sg_event_id": "x", "timestamp": 1, "email": "ada@example.com"}, 5]',
        b'[{"event": "spamreport", "sg_event_id": "\xff\xfe", "timestamp": 1}]',
    ],
)
def test_malformed_bodies_get_400_and_write_nothing(client, digest, body):
    response = post(client, body)
    assert response.status_code == 400
    assert nothing_written(digest)


def test_a_missing_public_key_refuses_everything_and_logs_a_configuration_error(
    client, digest, settings, caplog
):
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    with caplog.at_level(logging.ERROR, logger="newsletter.delivery.webhooks"):
        response = post(client, events_body(event("spamreport", "s1")))
    assert response.status_code == 403
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY is not set" in caplog.text
    assert nothing_written(digest)


def test_a_body_over_the_upload_limit_gets_413(client, digest, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = events_body(*[event("open", f"o{i}") for i in range(50)])
    assert post(client, body).status_code == 413
    assert nothing_written(digest)


def test_get_is_not_allowed(client, db):
    assert client.get(URL).status_code == 405


# --- Never a 500 ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def maybe(valid):
    """Mostly a valid value, sometimes any JSON value at all."""
    return st.one_of(valid, valid, valid, json_values)


event_strategy = st.fixed_dictionaries(
    {
        "sg_event_id": maybe(st.text(min_size=1, max_size=120)),
        "event": maybe(
            st.sampled_from(
                [
                    "delivered",
                    "open",
                    "click",
                    "bounce",
                    "dropped",
                    "spamreport",
                    "unsubscribe",
                    "group_unsubscribe",
                    "processed",
                    "x" * 40,
                ]
            )
        ),
        "timestamp": maybe(st.integers(min_value=-(2**70), max_value=2**70)),
        "email": maybe(st.sampled_from(["ada@example.com", "ADA@EXAMPLE.COM", "", "x" * 300])),
    },
    optional={
        "reason": maybe(st.sampled_from(["Bounced Address", "Invalid", "Exceeded max size"])),
        "digest_id": maybe(
            st.sampled_from(["1", "0", "-1", "99999999999999999999", "abc", "2"]) | st.integers()
        ),
        "subscriber_id": maybe(st.integers(min_value=-(2**70), max_value=2**70).map(str)),
        "type": maybe(st.sampled_from(["bounce", "blocked"])),
    },
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.lists(event_strategy, max_size=5).map(lambda events: json.dumps(events).encode()),
    st.lists(event_strategy, max_size=5).map(lambda events: json.dumps(events).encode()[:-1]),
)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_no_validly_signed_body_makes_it_answer_500(client, digest, body):
    # The test client re-raises any exception in the view, so a would-be 500 fails here.
    response = post(client, body)
    assert response.status_code in (200, 400)
