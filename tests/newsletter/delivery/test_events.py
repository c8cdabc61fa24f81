"""The Event Webhook service: verification, parsing, and what each SendGrid event does to our data."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from newsletter.delivery.events import (
    WebhookConfigurationError,
    WebhookPayloadError,
    WebhookSignatureError,
    delivery_events_record,
    webhook_parse,
    webhook_verify,
)
from newsletter.delivery.suppressions import email_hash
from newsletter.models import DeliveryEvent, Digest, Subscriber, Suppression
from tests.fakes.sendgrid import WebhookSigner

NOW = 1_778_230_000  # 2026-05-08T08:46:40Z


def event(kind: str, sg_event_id: str, email: str = "ada@example.com", **extra) -> dict:
    """An event shaped like SendGrid's documented examples; custom args arrive as top-level keys."""
    return {
        "email": email,
        "timestamp": NOW,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": kind,
        "category": ["digest"],
        "sg_event_id": sg_event_id,
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        **extra,
    }


def record(*events: dict):
    return delivery_events_record(events=webhook_parse(body=json.dumps(list(events)).encode()))


@pytest.fixture
def signer() -> WebhookSigner:
    return WebhookSigner()


@pytest.fixture
def ada(db) -> Subscriber:
    return Subscriber.objects.create(email="Ada@Example.com", status=Subscriber.Status.ACTIVE)


@pytest.fixture
def digest(ada) -> Digest:
    return Digest.objects.create(subscriber=ada, edition="2026-05-08", status=Digest.Status.SENT)


# --- Verification ---------------------------------------------------------------------------


def verify(signer: WebhookSigner, body: bytes, headers: dict, **overrides) -> None:
    options = {
        "body": body,
        "signature": headers["X-Twilio-Email-Event-Webhook-Signature"],
        "timestamp": headers["X-Twilio-Email-Event-Webhook-Timestamp"],
        "public_key": signer.public_key,
        "max_age": 600,
        "now": NOW,
        **overrides,
    }
    webhook_verify(**options)


def test_verify_accepts_a_signature_made_with_the_matching_key(signer):
    body = b'[{"event":"open"}]'
    verify(signer, body, signer.headers(body, timestamp=NOW))


def test_verify_refuses_a_tampered_body(signer):
    headers = signer.headers(b'[{"event":"open"}]', timestamp=NOW)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(signer, b'[{"event":"click"}]', headers)


def test_verify_refuses_a_signature_from_another_key(signer):
    body = b"[]"
    with pytest.raises(WebhookSignatureError):
        verify(signer, body, WebhookSigner().headers(body, timestamp=NOW))


def test_verify_refuses_a_signature_that_is_not_base64_or_not_der(signer):
    body = b"[]"
    headers = signer.headers(body, timestamp=NOW)
    for bad in ("%%%", "AAAA", headers["X-Twilio-Email-Event-Webhook-Signature"][:-8]):
        with pytest.raises(WebhookSignatureError):
            verify(signer, body, headers, signature=bad)


def test_verify_refuses_a_signature_made_for_another_timestamp(signer):
    body = b"[]"
    headers = signer.headers(body, timestamp=NOW)
    with pytest.raises(WebhookSignatureError):
        verify(signer, body, headers, timestamp=str(NOW + 1))


def test_verify_refuses_missing_headers(signer):
    with pytest.raises(WebhookSignatureError, match="missing"):
        webhook_verify(body=b"[]", signature=None, timestamp=None, public_key=signer.public_key, max_age=600)


@pytest.mark.parametrize("age", [601, -601])
def test_verify_refuses_a_timestamp_too_far_from_now(signer, age):
    body = b"[]"
    with pytest.raises(WebhookSignatureError, match="away from now"):
        verify(signer, body, signer.headers(body, timestamp=NOW - age))


def test_verify_accepts_a_timestamp_just_inside_max_age(signer):
    body = b"[]"
    verify(signer, body, signer.headers(body, timestamp=NOW - 600))


def test_max_age_zero_disables_the_age_check(signer):
    body = b"[]"
    verify(signer, body, signer.headers(body, timestamp=NOW - 10**6), max_age=0)


def test_verify_refuses_a_timestamp_that_is_not_a_number(signer):
    body = b"[]"
    with pytest.raises(WebhookSignatureError, match="not a Unix time"):
        verify(signer, body, signer.headers(body, timestamp=NOW), timestamp="1e9")


@pytest.mark.parametrize("key", ["", "not base64 at all", "QUJD"])
def test_a_missing_or_unusable_public_key_is_a_configuration_error(signer, key):
    body = b"[]"
    with pytest.raises(WebhookConfigurationError):
        verify(signer, body, signer.headers(body, timestamp=NOW), public_key=key)


def test_a_body_that_is_not_utf8_is_a_payload_error(signer):
    body = b'[{"email": "\xff"}]'
    with pytest.raises(WebhookPayloadError, match="UTF-8"):
        verify(signer, body, signer.headers(body, timestamp=NOW))


def test_verification_uses_real_time_by_default(signer):
    body = b"[]"
    headers = signer.headers(body)  # now
    webhook_verify(
        body=body,
        signature=headers["X-Twilio-Email-Event-Webhook-Signature"],
        timestamp=headers["X-Twilio-Email-Event-Webhook-Timestamp"],
        public_key=signer.public_key,
        max_age=600,
    )
    with pytest.raises(WebhookSignatureError):
        stale = signer.headers(body, timestamp=int(time.time()) - 700)
        webhook_verify(
            body=body,
            signature=stale["X-Twilio-Email-Event-Webhook-Signature"],
            timestamp=stale["X-Twilio-Email-Event-Webhook-Timestamp"],
            public_key=signer.public_key,
            max_age=600,
        )


# --- Parsing --------------------------------------------------------------------------------


def test_parse_reads_the_fields_we_keep_and_our_custom_args():
    [parsed] = webhook_parse(
        body=json.dumps(
            [
                event(
                    "bounce",
                    "ev-1",
                    reason="550 5.1.1 no such user",
                    digest_id="42",
                    subscriber_id="7",
                    type="bounce",
                )
            ]
        ).encode()
    )
    assert parsed.sg_event_id == "ev-1"
    assert parsed.event == "bounce"
    assert parsed.email == "ada@example.com"
    assert parsed.timestamp == dt.datetime(2026, 5, 8, 8, 46, 40, tzinfo=dt.UTC)
    assert parsed.reason == "550 5.1.1 no such user"
    assert (parsed.digest_id, parsed.subscriber_id) == (42, 7)
    assert parsed.raw["smtp-id"] == "<14c5d75ce93.dfd.64b469@ismtpd-555>"


def test_parse_accepts_an_empty_list():
    assert webhook_parse(body=b"[]") == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"event": "open"}',
        b"[1, 2]",
        b'[{"event": "open", "timestamp": 1, "email": "a@example.com"}]',  # no sg_event_id
        b'[{"sg_event_id": "x", "timestamp": 1, "email": "a@example.com"}]',  # no event
        b'[{"sg_event_id": "x", "event": "open", "email": "a@example.com"}]',  # no timestamp
        b'[{"sg_event_id": 5, "event": "open", "timestamp": 1}]',
        b'[{"sg_event_id": "x", "event": ["open"], "timestamp": 1}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": "1"}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": true}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1.5}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 99999999999999999999}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": -1}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "email": 5}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "reason": {}}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "digest_id": "12abc"}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "digest_id": "99999999999999999999"}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "digest_id": -3}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "subscriber_id": 1e3}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "extra": 1e999}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "extra": NaN}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "extra": "a\\u0000b"}]',
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "extra": "\\ud800"}]',
        b'[{"sg_event_id": "' + b"x" * 101 + b'", "event": "open", "timestamp": 1}]',
        b'[{"sg_event_id": "x", "event": "' + b"o" * 33 + b'", "timestamp": 1}]',
        b"[" * 100_000 + b"]" * 100_000,
        b'[{"sg_event_id": "x", "event": "open", "timestamp": 1, "n": ' + b"9" * 5000 + b"}]",
    ],
)
def test_parse_refuses_malformed_bodies(body):
    with pytest.raises(WebhookPayloadError):
        webhook_parse(body=body)


def test_one_bad_event_refuses_the_whole_body():
    body = json.dumps([event("open", "ev-1"), {"event": "open"}]).encode()
    with pytest.raises(WebhookPayloadError, match="event 1"):
        webhook_parse(body=body)


# --- Recording and effects -----------------------------------------------------------------


def test_events_are_stored_once_with_links_to_digest_and_subscriber(digest, ada):
    result = record(event("delivered", "ev-1", digest_id=str(digest.id), subscriber_id=str(ada.id)))
    assert (result.received, result.new) == (1, 1)
    stored = DeliveryEvent.objects.get()
    assert (stored.sg_event_id, stored.event, stored.email) == ("ev-1", "delivered", "ada@example.com")
    assert (stored.digest_id, stored.subscriber_id) == (digest.id, ada.id)
    assert stored.raw["sg_message_id"].startswith("14c5d75ce93")


def test_a_replayed_event_is_ignored(digest):
    first = record(event("open", "ev-1", digest_id=str(digest.id)))
    again = record(event("open", "ev-1", digest_id=str(digest.id)))
    assert (first.new, again.new) == (1, 0)
    digest.refresh_from_db()
    assert digest.open_count == 1
    assert DeliveryEvent.objects.count() == 1


def test_duplicates_inside_one_body_count_once(digest):
    result = record(*[event("click", "ev-1", digest_id=str(digest.id))] * 3)
    assert (result.received, result.new) == (3, 1)
    digest.refresh_from_db()
    assert digest.click_count == 1


def test_delivered_sets_delivered_at_once_with_the_earliest_time(digest):
    record(
        event("delivered", "ev-2", digest_id=str(digest.id), timestamp=NOW + 60),
        event("delivered", "ev-1", digest_id=str(digest.id), timestamp=NOW),
    )
    record(event("delivered", "ev-3", digest_id=str(digest.id), timestamp=NOW + 3600))
    digest.refresh_from_db()
    assert digest.delivered_at == dt.datetime.fromtimestamp(NOW, tz=dt.UTC)


def test_opens_and_clicks_add_up_per_digest(ada, digest):
    other = Digest.objects.create(subscriber=ada, edition="2026-05-09", status=Digest.Status.SENT)
    record(
        event("open", "o1", digest_id=str(digest.id)),
        event("open", "o2", digest_id=str(digest.id)),
        event("open", "o3", digest_id=str(other.id)),
        event("click", "c1", digest_id=str(digest.id), url="https://arxiv.org/abs/2401.00001"),
    )
    record(event("open", "o4", digest_id=str(digest.id)))
    digest.refresh_from_db()
    other.refresh_from_db()
    assert (digest.open_count, digest.click_count) == (3, 1)
    assert (other.open_count, other.click_count) == (1, 0)


def test_a_hard_bounce_marks_every_subscriber_with_that_address_bounced_case_insensitively(ada):
    record(event("bounce", "b1", email="ADA@example.COM", type="bounce", reason="550 5.1.1 unknown user"))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.BOUNCED


def test_a_blocked_bounce_does_not_mark_the_address(ada):
    record(event("bounce", "b1", type="blocked", reason="421 try again later"))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE
    assert DeliveryEvent.objects.get().event == "bounce"


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("Bounced Address", Subscriber.Status.BOUNCED),
        ("Invalid", Subscriber.Status.BOUNCED),
        ("Spam Reporting Address", Subscriber.Status.BOUNCED),
        ("Unsubscribed Address", Subscriber.Status.BOUNCED),
        ("Exceeded max size", Subscriber.Status.ACTIVE),
        ("Invalid SMTPAPI header", Subscriber.Status.ACTIVE),
    ],
)
def test_dropped_marks_bounced_only_for_bad_address_reasons(ada, reason, status):
    record(event("dropped", "d1", reason=reason))
    ada.refresh_from_db()
    assert ada.status == status


def test_a_spam_report_marks_the_subscriber_complained(ada):
    record(event("spamreport", "s1"))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.COMPLAINED


@pytest.mark.parametrize("kind", ["unsubscribe", "group_unsubscribe"])
def test_unsubscribe_events_unsubscribe_with_the_events_time(ada, kind):
    record(event(kind, "u1", asm_group_id=1))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED
    assert ada.unsubscribed_at == dt.datetime.fromtimestamp(NOW, tz=dt.UTC)


def test_bounced_and_complained_survive_later_events(db, digest):
    bounced = Subscriber.objects.create(email="bob@example.com", status=Subscriber.Status.ACTIVE)
    complained = digest.subscriber
    record(event("bounce", "b1", email="bob@example.com"), event("spamreport", "s1"))
    record(
        event("delivered", "d1", email="bob@example.com"),
        event("open", "o1", digest_id=str(digest.id)),
        event("delivered", "d2", digest_id=str(digest.id)),
        event("group_resubscribe", "r1"),
        event("unsubscribe", "u1"),
        event("bounce", "b2"),
    )
    bounced.refresh_from_db()
    complained.refresh_from_db()
    assert (bounced.status, complained.status) == (Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED)


def test_events_never_reactivate_an_unsubscribed_or_paused_subscriber(db):
    gone = Subscriber.objects.create(email="gone@example.com", status=Subscriber.Status.UNSUBSCRIBED)
    paused = Subscriber.objects.create(email="paused@example.com", status=Subscriber.Status.PAUSED)
    record(
        event("group_resubscribe", "r1", email="gone@example.com"),
        event("delivered", "d1", email="paused@example.com"),
        event("open", "o1", email="gone@example.com"),
    )
    gone.refresh_from_db()
    paused.refresh_from_db()
    assert (gone.status, paused.status) == (Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.PAUSED)


def suppressions() -> dict[str, str]:
    return dict(Suppression.objects.values_list("email_hash", "reason"))


@pytest.mark.parametrize(
    ("kind", "extra", "reason"),
    [
        ("bounce", {"type": "bounce", "reason": "550 5.1.1 unknown user"}, "bounced"),
        ("dropped", {"reason": "Invalid"}, "invalid"),
        ("dropped", {"reason": "Bounced Address"}, "invalid"),
        ("spamreport", {}, "complained"),
        ("unsubscribe", {}, "unsubscribed"),
        ("group_unsubscribe", {"asm_group_id": 1}, "unsubscribed"),
    ],
)
def test_each_never_mail_again_event_puts_the_address_on_the_suppression_list(ada, kind, extra, reason):
    record(event(kind, "e1", email="ADA@example.com", **extra))

    assert suppressions() == {email_hash("ada@example.com"): reason}


def test_an_address_with_no_subscriber_is_suppressed_too(db):
    record(event("spamreport", "s1", email="stranger@example.com"))

    assert suppressions() == {email_hash("stranger@example.com"): "complained"}


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("bounce", {"type": "blocked", "reason": "421 try again later"}),
        ("dropped", {"reason": "Exceeded max size"}),
        ("deferred", {}),
        ("delivered", {}),
        ("group_resubscribe", {}),
    ],
)
def test_events_that_do_not_mean_never_again_suppress_nothing(ada, kind, extra):
    record(event(kind, "e1", **extra))

    assert suppressions() == {}


def test_the_first_reason_recorded_for_an_address_is_kept(ada):
    record(event("bounce", "b1", type="bounce"), event("spamreport", "s1"))  # a complaint says more
    record(event("unsubscribe", "u1"))

    assert suppressions() == {email_hash("ada@example.com"): "complained"}


def test_the_suppression_is_written_in_the_transaction_of_the_status_change(ada, digest):
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's 32-bit integer overflow to fail the batch's last UPDATE")
    Digest.objects.filter(pk=digest.pk).update(open_count=2**31 - 1)
    batch = (event("bounce", "b1", type="bounce"), event("open", "o1", digest_id=str(digest.id)))

    with pytest.raises(DatabaseError, match="out of range"):
        record(*batch)  # the open counter, updated after the bounce, overflows

    ada.refresh_from_db()
    assert (ada.status, suppressions(), DeliveryEvent.objects.count()) == ("active", {}, 0)
    Digest.objects.filter(pk=digest.pk).update(open_count=0)
    record(*batch)  # SendGrid retries the delivery: now all of it lands
    ada.refresh_from_db()
    assert (ada.status, suppressions()) == ("bounced", {email_hash("ada@example.com"): "bounced"})


def test_a_complaint_outranks_a_bounce_in_the_same_batch(ada):
    record(event("bounce", "b1"), event("spamreport", "s1"))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.COMPLAINED


def test_unknown_event_types_are_stored_and_change_nothing(ada, digest):
    record(
        event("processed", "p1", digest_id=str(digest.id)),
        event("deferred", "df1"),
        event("brand_new_kind", "n1", digest_id=str(digest.id)),
    )
    assert DeliveryEvent.objects.count() == 3
    ada.refresh_from_db()
    digest.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE
    assert (digest.open_count, digest.click_count, digest.delivered_at) == (0, 0, None)


def test_ids_of_deleted_rows_are_kept_as_events_without_links(db):
    result = record(event("open", "o1", digest_id="999999", subscriber_id="888888"))
    assert result.new == 1
    stored = DeliveryEvent.objects.get()
    assert (stored.digest_id, stored.subscriber_id) == (None, None)


def test_the_subscriber_comes_from_the_digest_when_not_given(ada, digest):
    record(event("open", "o1", digest_id=str(digest.id)))
    assert DeliveryEvent.objects.get().subscriber_id == ada.id


def test_thousands_of_events_take_a_bounded_number_of_queries(ada, digest, django_assert_max_num_queries):
    kinds = ["delivered", "open", "click", "processed"]
    events = [
        event(kinds[i % 4], f"ev-{i}", digest_id=str(digest.id), timestamp=NOW + i % 7) for i in range(3000)
    ]
    events += [event("bounce", f"b-{i}", email=f"user{i}@example.com") for i in range(300)]
    parsed = webhook_parse(body=json.dumps(events).encode())
    # A handful of SELECTs and grouped UPDATEs plus the batched INSERTs (SQLite caps a batch at
    # ~100 rows, PostgreSQL takes 500): far from one query per event.
    with django_assert_max_num_queries(60):
        result = delivery_events_record(events=parsed)
    assert result.new == 3300
    digest.refresh_from_db()
    assert (digest.open_count, digest.click_count) == (750, 750)


def test_two_requests_racing_on_postgresql_apply_each_event_once(transactional_db):
    """SendGrid retries a delivery it thinks failed: the copy can arrive while the first is mid-commit."""
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks on a unique conflict are PostgreSQL's behaviour under test")
    ada = Subscriber.objects.create(email="ada@example.com", status=Subscriber.Status.ACTIVE)
    digest = Digest.objects.create(subscriber=ada, edition="2026-05-08", status=Digest.Status.SENT)
    body = json.dumps([event("open", "o1", digest_id=str(digest.id)), event("spamreport", "s1")]).encode()
    first_inserted, first_may_commit = threading.Event(), threading.Event()
    results = {}

    def first() -> None:
        try:
            with transaction.atomic():  # its rows stay uncommitted until the second request waits on them
                results["first"] = delivery_events_record(events=webhook_parse(body=body))
                first_inserted.set()
                first_may_commit.wait(10)
        finally:
            connection.close()

    def second() -> None:
        try:
            results["second"] = delivery_events_record(events=webhook_parse(body=body))
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_inserted.wait(10)
    threads[1].start()
    wait_for_a_row_lock_wait()
    first_may_commit.set()
    for thread in threads:
        thread.join(10)

    assert (results["first"].new, results["second"].new) == (2, 0)
    digest.refresh_from_db()
    ada.refresh_from_db()
    assert digest.open_count == 1
    assert ada.status == Subscriber.Status.COMPLAINED
    assert DeliveryEvent.objects.count() == 2


def wait_for_a_row_lock_wait(timeout: float = 10) -> None:
    """Until another session of this database waits on a lock (the second INSERT ... ON CONFLICT)."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second request never waited on the first one's rows")
