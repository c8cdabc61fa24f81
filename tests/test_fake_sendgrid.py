"""The loopback fake SendGrid: it must accept what the real SDK builds and refuse what SendGrid refuses."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import pytest
import requests
from sendgrid.helpers.mail import Category, Content, CustomArg, From, Header, Mail, Personalization, To

from tests.fakes.sendgrid import FORMAT_CHECKER, FakeSendGrid, Hang, Reply, mail_send_schemas

KEY = "SG.fake-test-key"


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key=KEY) as server:
        yield server


def sdk_mail() -> dict:
    mail = Mail()
    mail.from_email = From("papers@example.org", "Paperbox")
    mail.subject = "Your papers for 2026-05-08"
    personalization = Personalization()
    personalization.add_to(To("reader@example.com", "A Reader"))
    mail.add_personalization(personalization)
    mail.add_content(Content("text/html", "<p>Three papers</p>"))
    mail.add_content(Content("text/plain", "Three papers"))
    mail.header = Header("List-Unsubscribe", "<https://paperbox.example/u/abc>")
    mail.header = Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    mail.category = Category("digest")
    mail.custom_arg = CustomArg("digest_id", "42")
    mail.custom_arg = CustomArg("subscriber_id", "7")
    return mail.get()


def post(fake: FakeSendGrid, body, *, key: str = KEY, timeout: float = 5) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        f"{fake.url}/v3/mail/send",
        data=data,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=timeout,
    )


def test_accepts_a_real_sdk_built_mail_and_answers_202_with_a_message_id(fake):
    body = sdk_mail()
    response = post(fake, body)
    assert response.status_code == 202
    assert response.content == b""
    assert response.headers["X-Message-Id"] == fake.accepted_message_ids[0]
    assert fake.accepted == [body]
    assert fake.invalid == []
    assert fake.requests == 1


def test_message_ids_are_unique_per_message(fake):
    ids = {post(fake, sdk_mail()).headers["X-Message-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_rejects_a_body_without_from_with_a_sendgrid_shaped_400(fake):
    body = sdk_mail()
    del body["from"]
    response = post(fake, body)
    assert response.status_code == 400
    assert {"field": "from", "message": "'from' is a required property"} in response.json()["errors"]
    assert fake.accepted == []
    assert fake.invalid[0].body == body


def test_rejects_a_bad_email_address(fake):
    body = sdk_mail()
    body["personalizations"][0]["to"][0]["email"] = "not an address"
    response = post(fake, body)
    assert response.status_code == 400
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["personalizations.0.to.0.email"]
    assert len(fake.invalid) == 1


def test_rejects_content_of_the_wrong_type(fake):
    body = sdk_mail()
    body["content"] = "just a string"
    response = post(fake, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "content"


def test_rejects_a_reserved_header(fake):
    body = sdk_mail()
    body["headers"]["Reply-To"] = "someone@example.com"
    response = post(fake, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "headers.Reply-To"


def test_rejects_a_body_that_is_not_json_and_records_it(fake):
    response = post(fake, b"{not json")
    assert response.status_code == 400
    assert fake.invalid[0].body == b"{not json"


def test_custom_args_must_be_patched_because_both_specs_type_them_as_a_string():
    body = sdk_mail()
    for schema in mail_send_schemas():
        assert jsonschema.Draft4Validator(schema, format_checker=FORMAT_CHECKER).is_valid(body)
        unpatched = {**schema, "properties": {**schema["properties"], "custom_args": {"type": "string"}}}
        errors = list(jsonschema.Draft4Validator(unpatched).iter_errors(body))
        assert [list(error.path) for error in errors] == [["custom_args"]]


def test_wrong_api_key_gets_the_documented_401(fake):
    response = post(fake, sdk_mail(), key="SG.wrong")
    assert response.status_code == 401
    assert response.json() == {"errors": [{"field": None, "message": "authorization required"}]}
    assert fake.accepted == []


def test_scripted_replies_happen_in_order_then_back_to_202(fake):
    reset = str(int(time.time()) + 1)
    fake.script(
        Reply(
            429,
            headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        ),
        Reply(500),
        Reply(413, body={"errors": [{"field": None, "message": "too big"}]}),
    )
    responses = [post(fake, sdk_mail()) for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 500, 413, 202]
    assert responses[0].json() == {"errors": [{"field": None, "message": "too many requests"}]}
    assert responses[0].headers["X-RateLimit-Reset"] == reset
    assert responses[2].json()["errors"][0]["message"] == "too big"
    assert len(fake.accepted) == 1
    assert fake.requests == 4


def test_scripted_replies_still_record_invalid_bodies(fake):
    fake.script(Reply(500))
    body = sdk_mail()
    del body["personalizations"]
    assert post(fake, body).status_code == 500
    assert len(fake.invalid) == 1


def test_default_reply_answers_every_request(fake):
    fake.default = Reply(401)
    assert [post(fake, sdk_mail()).status_code for _ in range(3)] == [401, 401, 401]
    assert fake.accepted == []


def test_hang_answers_nothing_until_the_client_gives_up(fake):
    fake.script(Hang(30))
    # A read timeout, not the dropped connection the fake ends a Hang with: the client gave up first.
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(fake, sdk_mail(), timeout=0.5)
    assert fake.accepted == []


def test_keeps_the_connection_alive_between_requests(fake):
    host, port = fake.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    statuses = []
    for _ in range(3):
        connection.request(
            "POST",
            "/v3/mail/send",
            body=json.dumps(sdk_mail()),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        local_port = connection.sock.getsockname()[1]
        assert statuses == [202] * len(statuses)
        if len(statuses) == 1:
            first_port = local_port
        assert local_port == first_port  # same TCP connection
    connection.close()
    assert len(fake.accepted) == 3


def test_unknown_path_answers_404(fake):
    response = requests.post(f"{fake.url}/v3/other", data=b"{}", timeout=5)
    assert response.status_code == 404


def test_counting_only_mode_counts_accepted_messages_without_keeping_them():
    with FakeSendGrid(api_key=KEY, keep_bodies=False) as counting:
        assert post(counting, sdk_mail()).status_code == 202
        assert post(counting, {"bad": "body"}).status_code == 400
        assert post(counting, sdk_mail()).status_code == 202
    assert counting.accepted_count == 2
    assert (counting.accepted, counting.accepted_message_ids) == ([], [])


def keep_alive_post(connection: http.client.HTTPConnection) -> int:
    connection.request(
        "POST",
        "/v3/mail/send",
        body=json.dumps(sdk_mail()),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    return response.status


def test_counts_connections_and_records_which_one_each_request_came_on(fake):
    host, port = fake.url.removeprefix("http://").split(":")
    first = http.client.HTTPConnection(host, int(port), timeout=5)
    second = http.client.HTTPConnection(host, int(port), timeout=5)
    statuses = [
        keep_alive_post(first),
        keep_alive_post(first),
        keep_alive_post(second),
        keep_alive_post(first),
    ]
    first.close()
    second.close()
    assert statuses == [202] * 4
    assert fake.connections == 2
    assert [request.connection for request in fake.received] == [1, 1, 2, 1]
    assert [request.target for request in fake.received] == ["/v3/mail/send"] * 4
    assert fake.received[0].headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(fake.received[0].body) == sdk_mail()


def test_drop_idle_connections_closes_them_as_a_keep_alive_timeout_would(fake):
    host, port = fake.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    assert keep_alive_post(connection) == 202
    assert fake.drop_idle_connections() == 1
    assert connection.sock.recv(1) == b""  # the client sees the server's end of the connection
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        keep_alive_post(connection)
    connection.close()
    assert fake.drop_idle_connections() == 0


def test_stop_closes_kept_alive_connections_too():
    with FakeSendGrid(api_key=KEY) as server:
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        assert keep_alive_post(connection) == 202
    assert connection.sock.recv(1) == b""
    connection.close()


def test_latency_delays_answers_and_max_in_flight_counts_overlapping_requests(fake):
    fake.latency = 0.2
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: post(fake, sdk_mail()).status_code, range(4)))
    assert statuses == [202] * 4
    assert time.monotonic() - started >= 0.2
    assert fake.max_in_flight == 4  # all four were being answered at the same time
