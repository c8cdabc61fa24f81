"""The SendGrid backend, through the real SDK over real HTTP to the loopback fake SendGrid."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sendgrid
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from sendgrid import SendGridAPIClient

from newsletter.delivery.errors import (
    DeliveryAuthError,
    DeliveryError,
    DeliveryRateLimited,
    DeliveryRejected,
    DeliveryServerError,
    DeliveryTimeout,
)
from newsletter.delivery.sendgrid import POOL_SIZE, SendGridBackend, build_mail
from newsletter.digests.sending import SEND_THREADS
from tests.fakes.sendgrid import FakeSendGrid, Hang, Reply

KEY = "SG.backend-test-key"


@pytest.fixture
def fake(settings) -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key=KEY) as server:
        settings.EMAIL_BACKEND = "newsletter.delivery.sendgrid.SendGridBackend"
        settings.SENDGRID_API_KEY = KEY
        settings.SENDGRID_API_HOST = server.url
        settings.SENDGRID_TIMEOUT = 5
        yield server
        assert server.invalid == []  # every body we sent was valid for SendGrid's schema


def digest_message(**overrides) -> EmailMultiAlternatives:
    options = {
        "subject": "Your papers for 2026-05-08",
        "body": "Three papers today.",
        "from_email": "Paperbox <papers@paperbox.example>",
        "to": ["Ada Reader <ada@example.com>"],
        "headers": {
            "List-Unsubscribe": "<https://paperbox.example/u/tok>, <mailto:papers@paperbox.example>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        **overrides,
    }
    message = EmailMultiAlternatives(**options)
    message.attach_alternative("<p>Three papers today.</p>", "text/html")
    message.sendgrid_categories = ["digest", "daily"]
    message.sendgrid_custom_args = {"digest_id": "42", "subscriber_id": "7"}
    return message


def test_sends_the_exact_json_sendgrid_expects(fake):
    message = digest_message(reply_to=["Help <help@paperbox.example>"])
    assert message.send() == 1
    assert fake.accepted == [
        {
            "from": {"name": "Paperbox", "email": "papers@paperbox.example"},
            "subject": "Your papers for 2026-05-08",
            "personalizations": [{"to": [{"name": "Ada Reader", "email": "ada@example.com"}]}],
            "content": [
                {"type": "text/plain", "value": "Three papers today."},
                {"type": "text/html", "value": "<p>Three papers today.</p>"},
            ],
            "headers": {
                "List-Unsubscribe": "<https://paperbox.example/u/tok>, <mailto:papers@paperbox.example>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            "categories": ["digest", "daily"],
            "custom_args": {"digest_id": "42", "subscriber_id": "7"},
            "reply_to": {"name": "Help", "email": "help@paperbox.example"},
        }
    ]


def test_html_only_body_and_cc_bcc_go_to_the_right_places(fake):
    message = EmailMessage(
        "Hi",
        "<p>Hi</p>",
        "papers@paperbox.example",
        ["a@example.com"],
        cc=["b@example.com"],
        bcc=["c@example.com"],
    )
    message.content_subtype = "html"
    message.send()
    body = fake.accepted[0]
    assert body["content"] == [{"type": "text/html", "value": "<p>Hi</p>"}]
    assert body["personalizations"] == [
        {
            "to": [{"email": "a@example.com"}],
            "cc": [{"email": "b@example.com"}],
            "bcc": [{"email": "c@example.com"}],
        }
    ]
    assert "categories" not in body and "custom_args" not in body


def test_stores_sendgrids_message_id_on_the_message(fake):
    message = digest_message()
    message.send()
    assert message.sendgrid_message_id == fake.accepted_message_ids[0]
    assert message.sendgrid_message_id.startswith("fake-")


def test_drops_reserved_headers_and_maps_from_and_reply_to(fake):
    message = digest_message(
        headers={
            "From": "Paperbox Digest <digest@paperbox.example>",
            "Reply-To": "replies@paperbox.example",
            "To": "spoofed@example.com",
            "Content-Type": "text/plain",
            "X-Paperbox-Edition": "2026-05-08",
        }
    )
    message.send()
    body = fake.accepted[0]
    assert body["headers"] == {"X-Paperbox-Edition": "2026-05-08"}
    assert body["from"] == {"name": "Paperbox Digest", "email": "digest@paperbox.example"}
    assert body["reply_to"] == {"email": "replies@paperbox.example"}


def test_attachments_are_sent_base64_encoded(fake):
    message = digest_message()
    message.attach("papers.txt", "2401.00001\n", "text/plain")
    message.send()
    [attachment] = fake.accepted[0]["attachments"]
    assert attachment["filename"] == "papers.txt"
    assert base64.b64decode(attachment["content"]) == b"2401.00001\n"


def test_one_backend_instance_sends_many_times_through_the_process_pool(fake):
    backend = SendGridBackend()
    assert backend.open() is True
    assert backend.open() is False
    pool = backend.pool
    assert backend.send_messages([digest_message(), digest_message()]) == 2
    assert backend.send_messages([digest_message()]) == 1
    backend.close()
    assert backend.pool is None
    assert len(fake.accepted) == 3
    other = SendGridBackend()
    other.open()
    assert other.pool is pool  # one pool per process: the next backend finds the connection
    other.close()


def test_send_messages_without_open_opens_and_closes_itself(fake):
    backend = SendGridBackend()
    assert backend.send_messages([digest_message()]) == 1
    assert backend.pool is None


def test_a_message_without_recipients_is_skipped(fake):
    assert SendGridBackend().send_messages([digest_message(to=[])]) == 0
    assert fake.requests == 0


def test_a_body_sendgrid_refuses_raises_rejected_with_sendgrids_text(fake):
    # A real 400 from the fake's schema validation, not a scripted one.
    with pytest.raises(DeliveryRejected) as caught:
        digest_message(to=["@example.com"]).send()
    assert caught.value.status == 400
    assert caught.value.detail == "'@example.com' is not a 'email' (field: personalizations.0.to.0.email)"
    assert "/v3/mail/send answered 400" in str(caught.value)
    fake.invalid.clear()


def test_an_address_without_at_sign_is_rejected_before_any_request(fake):
    with pytest.raises(DeliveryRejected) as caught:
        digest_message(to=["not-an-address"]).send()
    assert caught.value.status is None
    assert "not-an-address" in str(caught.value)
    assert fake.requests == 0


def test_413_raises_rejected(fake):
    fake.script(Reply(413))
    with pytest.raises(DeliveryRejected) as caught:
        digest_message().send()
    assert (caught.value.status, caught.value.detail) == (413, "content too large")


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_raise_auth_error_pointing_at_the_api_key(fake, status):
    fake.script(Reply(status))
    with pytest.raises(DeliveryAuthError) as caught:
        digest_message().send()
    assert caught.value.status == status
    assert "SENDGRID_API_KEY" in str(caught.value) and "Mail Send" in str(caught.value)


def test_a_wrong_api_host_is_a_plain_sendgrid_error_naming_the_setting(fake, settings):
    settings.SENDGRID_API_HOST = fake.url + "/not-sendgrid"
    with pytest.raises(DeliveryError) as caught:
        digest_message().send()
    assert type(caught.value) is DeliveryError
    assert caught.value.status == 404
    assert "SENDGRID_API_HOST" in str(caught.value)


def test_a_wrong_api_key_is_an_auth_error(fake, settings):
    settings.SENDGRID_API_KEY = "SG.revoked"
    with pytest.raises(DeliveryAuthError) as caught:
        digest_message().send()
    assert caught.value.detail == "authorization required"


def test_429_raises_rate_limited_with_the_reset_time(fake):
    reset = int(time.time()) + 1
    fake.script(
        Reply(
            429,
            headers={
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
        )
    )
    with pytest.raises(DeliveryRateLimited) as caught:
        digest_message().send()
    assert caught.value.reset_at == float(reset)
    assert caught.value.detail == "too many requests"
    assert caught.value.status == 429


def test_429_without_a_reset_header_has_no_reset_time(fake):
    fake.script(Reply(429))
    with pytest.raises(DeliveryRateLimited) as caught:
        digest_message().send()
    assert caught.value.reset_at is None


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_raises_server_error(fake, status):
    fake.script(Reply(status))
    with pytest.raises(DeliveryServerError) as caught:
        digest_message().send()
    assert caught.value.status == status


def test_a_hanging_server_raises_timeout_within_the_configured_timeout(fake, settings):
    settings.SENDGRID_TIMEOUT = 1
    fake.script(Hang(30))
    started = time.monotonic()
    with pytest.raises(DeliveryTimeout, match="1s"):
        digest_message().send()
    # The server would hang for 30 s: only the 1 s timeout ends the call sooner (a wide margin, so a
    # busy machine does not fail this; it fails only if no timeout applies).
    assert time.monotonic() - started < 20


def test_a_refused_connection_raises_timeout(fake, settings):
    fake.stop()
    with pytest.raises(DeliveryTimeout) as caught:
        digest_message().send()
    assert caught.value.status is None


def test_errors_are_raised_even_without_fail_silently_and_the_backend_stays_usable(fake):
    backend = SendGridBackend(fail_silently=False)
    fake.script(Reply(500))
    with pytest.raises(DeliveryServerError):
        backend.send_messages([digest_message()])
    assert backend.send_messages([digest_message()]) == 1


def test_fail_silently_counts_only_the_messages_sent(fake):
    fake.script(Reply(500), Reply(400))
    backend = SendGridBackend(fail_silently=True)
    assert backend.send_messages([digest_message(), digest_message(), digest_message()]) == 1
    assert len(fake.accepted) == 1


def test_fail_silently_does_not_swallow_our_own_bugs(fake):
    message = digest_message()
    message.attachments.append(object())  # not a (name, content, mimetype) tuple
    with pytest.raises(ValueError, match="MIME attachments"):
        SendGridBackend(fail_silently=True).send_messages([message])


def test_every_error_type_is_a_sendgrid_error():
    for error in (
        DeliveryRejected,
        DeliveryAuthError,
        DeliveryRateLimited,
        DeliveryServerError,
        DeliveryTimeout,
    ):
        assert issubclass(error, DeliveryError)


def test_send_mail_uses_the_backend_from_settings(fake):
    assert mail.send_mail("Welcome", "Hello", "papers@paperbox.example", ["ada@example.com"]) == 1
    assert fake.accepted[0]["subject"] == "Welcome"
    assert fake.accepted[0]["content"] == [{"type": "text/plain", "value": "Hello"}]


# --- The transport: kept-alive connections --------------------------------------------------


def test_sends_the_sdks_own_body_bytes_and_headers(fake):
    message = digest_message()
    SendGridAPIClient(api_key=KEY, host=fake.url).send(build_mail(message))  # the official SDK
    assert SendGridBackend().send_messages([message]) == 1
    sdk, ours = fake.received
    assert ours.body == sdk.body
    lowered = [{name.lower(): value for name, value in r.headers.items()} for r in (sdk, ours)]
    assert lowered[0].pop("connection") == "close"  # the one difference: ours keeps it open
    assert lowered[1] == lowered[0]
    assert lowered[1]["user-agent"] == f"sendgrid/{sendgrid.__version__};python"


def test_many_sends_reuse_one_connection_across_backends(fake):
    backend = SendGridBackend()
    backend.open()
    for _ in range(20):
        backend.send_messages([digest_message()])
    backend.close()
    for _ in range(10):
        digest_message().send()  # a new backend each time, the same process pool
    assert len(fake.accepted) == 30
    assert fake.connections == 1
    assert {request.connection for request in fake.received} == {1}


def test_a_connection_the_server_closed_while_idle_is_opened_again_for_the_next_message(fake):
    backend = SendGridBackend()
    backend.open()
    assert backend.send_messages([digest_message()]) == 1
    assert fake.drop_idle_connections() == 1
    assert backend.send_messages([digest_message()]) == 1
    backend.close()
    assert fake.requests == 2  # no attempt lost on the closed connection
    assert [request.connection for request in fake.received] == [1, 2]


@pytest.mark.parametrize("reused", [False, True], ids=["new-connection", "reused-connection"])
def test_a_connection_broken_during_the_request_is_a_timeout_and_nothing_is_resent(fake, reused):
    backend = SendGridBackend()
    backend.open()
    if reused:
        assert backend.send_messages([digest_message()]) == 1
    fake.script(Hang(0))  # reads the request, then closes the connection without an answer
    with pytest.raises(DeliveryTimeout) as caught:
        backend.send_messages([digest_message(subject="broken")])
    assert caught.value.status is None
    assert backend.send_messages([digest_message(subject="next")]) == 1
    backend.close()
    subjects = [json.loads(request.body)["subject"] for request in fake.received]
    assert subjects == ["Your papers for 2026-05-08"] * reused + ["broken", "next"]
    assert fake.connections == 1 + 1  # the broken one, then a new one for the next message


def test_sending_threads_each_use_their_own_connection(fake):
    # As digests/sending.py does: one backend per thread, several tasks one after another.
    fake.latency = 0.01
    threads, per_thread = SEND_THREADS, 10
    message_ids: dict[str, str] = {}

    def send_from_one_thread(name: str) -> None:
        backend = SendGridBackend()
        backend.open()
        try:
            for n in range(per_thread):
                message = digest_message()
                message.sendgrid_custom_args = {"digest_id": f"{name}-{n}"}
                assert backend.send_messages([message]) == 1
                message_ids[f"{name}-{n}"] = message.sendgrid_message_id
        finally:
            backend.close()

    for task in range(2):
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(send_from_one_thread, [f"{task}.{t}" for t in range(threads)]))
    assert len(fake.accepted) == len(message_ids) == 2 * threads * per_thread
    # Every message got the answer to its own request: nothing crossed on a shared connection.
    bodies = dict(zip(fake.accepted_message_ids, fake.accepted, strict=True))
    assert all(bodies[id_]["custom_args"]["digest_id"] == key for key, id_ in message_ids.items())
    assert fake.max_in_flight > 1  # the threads really sent at the same time
    assert fake.connections <= threads  # and the second task reused the first one's connections


def test_the_pool_keeps_a_connection_for_every_sending_thread():
    assert POOL_SIZE >= SEND_THREADS


def test_a_forked_child_opens_its_own_connection_and_the_parent_keeps_its_own(fake):
    digest_message().send()
    pid = os.fork()
    if pid == 0:  # the child, as in Celery's prefork pool: never share the parent's socket
        code = 1
        try:
            message = digest_message()
            code = 0 if message.send() == 1 and message.sendgrid_message_id else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    digest_message().send()
    assert [request.connection for request in fake.received] == [1, 2, 1]


def test_a_redirect_is_not_followed_and_names_the_host_setting(fake):
    fake.script(Reply(301, headers={"Location": fake.url + "/v3/mail/send/elsewhere"}))
    with pytest.raises(DeliveryError) as caught:
        digest_message().send()
    assert type(caught.value) is DeliveryError
    assert caught.value.status == 301
    assert "SENDGRID_API_HOST" in str(caught.value)
    assert fake.requests == 1


@pytest.mark.parametrize("no_proxy", ["", "api.sendgrid.test"])
def test_a_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(
    fake, settings, monkeypatch, no_proxy
):
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fake.url)  # the fake stands in for the proxy
    monkeypatch.setenv("NO_PROXY", no_proxy)
    settings.SENDGRID_API_HOST = "http://api.sendgrid.test"
    with pytest.raises(DeliveryError) as caught:
        digest_message().send()
    if no_proxy:
        assert isinstance(caught.value, DeliveryTimeout)  # went straight to a host that does not exist
        assert fake.requests == 0
    else:
        assert caught.value.status == 404  # the fake is no proxy: it answers the request itself
        assert [request.target for request in fake.received] == ["http://api.sendgrid.test/v3/mail/send"]
